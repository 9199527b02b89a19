//! The interpreter: bytes + a compiled spec → the attribute tree of the `decoded` record key.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use serde_json::{Map, Value};

use super::spec::{Attr, Family, Field, Hint, Kind, Op};
use crate::capture::decode::to_hex as hex;
use crate::netlink::consts::{NLA_F_NET_BYTEORDER, NLA_TYPE_MASK};

/// Nesting deeper than this is shown as bytes (a crafted packet must not exhaust the stack).
const MAX_DEPTH: usize = 32;

/// The `decoded` key of a record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decoded {
    /// The YNL spec's name (`rt-link`, `nl80211`…).
    pub spec: &'static str,
    /// The spec's operation; absent when the spec lists none for the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    /// The fixed header's members (ifinfomsg, nfgenmsg…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Map<String, Value>>,
    pub attrs: Vec<Node>,
}

/// One attribute.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Node {
    pub name: Cow<'static, str>,
    #[serde(rename = "type")]
    pub type_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The number behind an enum name or a flag list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<u64>,
    #[serde(rename = "struct", skip_serializing_if = "Option::is_none")]
    pub structure: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attrs: Option<Vec<Node>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// The spec has no attribute of this type.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Ctx {
    family: &'static Family,
    /// The capturing host's byte order (netlink integers are in host order).
    big_endian: bool,
}

/// A message of operation `op`; `named` false when `op` is only the family's fallback (the spec
/// lists no operation for the message: its attributes are read with the common set, no `op`).
pub fn decode(
    family: &'static Family,
    op: &'static Op,
    named: bool,
    payload: &[u8],
    big_endian: bool,
) -> Decoded {
    let ctx = Ctx { family, big_endian };
    let (fixed, rest) = match op.fixed_header.as_deref() {
        Some(header) => {
            let (map, used) = ctx.structure(header, payload);
            (Some(map), payload.get(align4(used)..).unwrap_or(&[]))
        }
        None => (None, payload),
    };
    Decoded {
        spec: &family.name,
        op: named.then_some(op.name.as_str()),
        fixed,
        attrs: ctx.attrs(op.attr_set.as_deref(), rest, 0),
    }
}

/// A message whose operation the spec does not list: attributes by number.
pub fn decode_unknown_op(family: &'static Family, body: &[u8], big_endian: bool) -> Decoded {
    let ctx = Ctx { family, big_endian };
    Decoded {
        spec: &family.name,
        op: None,
        fixed: None,
        attrs: ctx.attrs(None, body, 0),
    }
}

/// The attribute that starts at `offset` of a message's `payload` (after the nlmsghdr, or the
/// genlmsghdr), as the path of C names from the top (`IFLA_LINKINFO/IFLA_INFO_KIND`); types the
/// spec does not name as `attr_<type>`. None when no attribute starts there.
pub fn attr_path(
    family: &'static Family,
    op: Option<&'static Op>,
    payload: &[u8],
    offset: usize,
    big_endian: bool,
) -> Option<String> {
    let ctx = Ctx { family, big_endian };
    let header = op.and_then(|o| o.fixed_header.as_deref());
    let mut start = header.map_or(0, |h| align4(family.struct_size(h)));
    let mut end = payload.len();
    let mut set = op
        .and_then(|o| o.attr_set.as_deref())
        .and_then(|s| family.attr_sets.get(s));
    let mut path: Vec<String> = Vec::new();
    'level: loop {
        let mut pos = start;
        while pos + 4 <= end {
            let len = ctx.uint(&payload[pos..pos + 2], false) as usize;
            let type_id = ctx.uint(&payload[pos + 2..pos + 4], false) as u16 & NLA_TYPE_MASK;
            if len < 4 || pos + len > end {
                return None;
            }
            if (pos..pos + len).contains(&offset) {
                let attr = set.and_then(|s| Some((s, s.by_type.get(&type_id)?)));
                path.push(match attr {
                    Some((s, a)) => Family::c_name(s, &a.field.name),
                    None => format!("attr_{type_id}"),
                });
                if offset == pos {
                    return Some(path.join("/"));
                }
                // Inside it: its nested attributes, named when it is a plain nest.
                set = attr
                    .filter(|(_, a)| a.field.kind == Kind::Nest)
                    .and_then(|(_, a)| a.nested.as_deref())
                    .and_then(|n| family.attr_sets.get(n));
                (start, end) = (pos + 4, pos + len);
                continue 'level;
            }
            pos += align4(len);
        }
        return None;
    }
}

/// Walk the attributes in `bytes`: `each(type with its flag bits, value, the nodes so far)`
/// makes a node of each; a length that does not fit ends the walk with an error node.
pub(crate) fn walk_attributes<'b>(
    bytes: &'b [u8],
    big_endian: bool,
    mut each: impl FnMut(u16, &'b [u8], &[Node]) -> Node,
) -> Vec<Node> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let (Some(l), Some(t)) = (rest.get(0..2), rest.get(2..4)) else {
            out.push(Node {
                name: "trailing-bytes".into(),
                hex: Some(hex(rest)),
                error: Some(format!("{} bytes too short for an attribute", rest.len())),
                ..Node::default()
            });
            break;
        };
        let (len, raw_type) = (
            read_uint(l, big_endian) as usize,
            read_uint(t, big_endian) as u16,
        );
        if len < 4 || len > rest.len() {
            let type_id = raw_type & NLA_TYPE_MASK;
            out.push(Node {
                name: format!("attr-{type_id}").into(),
                type_id,
                hex: Some(hex(rest)),
                error: Some(format!(
                    "attribute length {len} does not fit the {} bytes left",
                    rest.len()
                )),
                ..Node::default()
            });
            break;
        }
        let node = each(raw_type, &rest[4..len], &out);
        out.push(node);
        pos += align4(len);
    }
    out
}

/// An integer of `bytes.len()` bytes in the given byte order.
pub(crate) fn read_uint(bytes: &[u8], big_endian: bool) -> u64 {
    let fold = |v: u64, b: &u8| (v << 8) | u64::from(*b);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

impl Node {
    /// An attribute the spec (or table) does not name: its type and bytes.
    pub(crate) fn unknown(type_id: u16, value: &[u8]) -> Node {
        Node {
            name: format!("attr-{type_id}").into(),
            type_id,
            hex: Some(hex(value)),
            unknown: true,
            ..Node::default()
        }
    }
}

/// Netlink's 4-byte alignment (NLA_ALIGN / NLMSG_ALIGN).
pub(crate) fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Ctx {
    fn uint(&self, bytes: &[u8], big_endian: bool) -> u64 {
        read_uint(bytes, big_endian || self.big_endian)
    }

    fn walk<'b>(
        &self,
        bytes: &'b [u8],
        each: impl FnMut(u16, &'b [u8], &[Node]) -> Node,
    ) -> Vec<Node> {
        walk_attributes(bytes, self.big_endian, each)
    }

    /// The attributes in `bytes`, named by `set` (None: by number only).
    fn attrs(&self, set: Option<&str>, bytes: &[u8], depth: usize) -> Vec<Node> {
        let set = set.and_then(|s| self.family.attr_sets.get(s));
        self.walk(bytes, |raw_type, value, siblings| {
            let type_id = raw_type & NLA_TYPE_MASK;
            match set.and_then(|s| s.by_type.get(&type_id)) {
                Some(attr) => {
                    let net_order = raw_type & NLA_F_NET_BYTEORDER != 0;
                    self.attr(attr, type_id, value, net_order, siblings, depth)
                }
                None => Node::unknown(type_id, value),
            }
        })
    }

    fn attr(
        &self,
        attr: &'static Attr,
        type_id: u16,
        value: &[u8],
        net_order: bool,
        siblings: &[Node],
        depth: usize,
    ) -> Node {
        let mut node = Node {
            name: Cow::Borrowed(attr.field.name.as_str()),
            type_id,
            ..Node::default()
        };
        let nested = matches!(
            attr.field.kind,
            Kind::Nest | Kind::IndexedArray | Kind::NestTypeValue | Kind::SubMessage
        );
        if nested && depth >= MAX_DEPTH {
            node.hex = Some(hex(value));
            node.error = Some(format!("nested deeper than {MAX_DEPTH} levels"));
            return node;
        }
        match attr.field.kind {
            Kind::Nest => {
                node.attrs = Some(self.attrs(attr.nested.as_deref(), value, depth + 1));
            }
            Kind::IndexedArray => node.attrs = Some(self.indexed(attr, value, depth + 1)),
            Kind::NestTypeValue => {
                node.attrs = Some(self.type_value(attr, attr.type_value, value, depth + 1))
            }
            Kind::SubMessage => self.sub_message(attr, value, siblings, &mut node, depth + 1),
            _ => self.scalar(&attr.field, attr.sub_type, value, net_order, &mut node),
        }
        node
    }

    /// indexed-array: each entry's type is its index.
    fn indexed(&self, attr: &'static Attr, bytes: &[u8], depth: usize) -> Vec<Node> {
        self.walk(bytes, |raw_type, value, _| {
            let type_id = raw_type & NLA_TYPE_MASK;
            let mut entry = Node {
                name: format!("[{type_id}]").into(),
                type_id,
                ..Node::default()
            };
            match attr.sub_type {
                Some(Kind::Nest) | None => {
                    entry.attrs = Some(self.attrs(attr.nested.as_deref(), value, depth + 1))
                }
                Some(kind) => {
                    let field = Field {
                        kind,
                        ..attr.field.clone()
                    };
                    self.scalar(&field, None, value, false, &mut entry);
                }
            }
            entry
        })
    }

    /// nest-type-value: `levels` levels of nests whose types are keys, then the nested set.
    fn type_value(
        &self,
        attr: &'static Attr,
        levels: usize,
        bytes: &[u8],
        depth: usize,
    ) -> Vec<Node> {
        if levels == 0 || depth >= MAX_DEPTH {
            return self.attrs(attr.nested.as_deref(), bytes, depth);
        }
        self.walk(bytes, |raw_type, value, _| {
            let type_id = raw_type & NLA_TYPE_MASK;
            Node {
                name: format!("[{type_id}]").into(),
                type_id,
                attrs: Some(self.type_value(attr, levels - 1, value, depth + 1)),
                ..Node::default()
            }
        })
    }

    fn sub_message(
        &self,
        attr: &'static Attr,
        value: &[u8],
        siblings: &[Node],
        node: &mut Node,
        depth: usize,
    ) {
        let selector = attr.selector.as_deref().and_then(|sel| {
            siblings
                .iter()
                .rev()
                .find(|n| n.name == sel)
                .and_then(|n| n.value.as_ref())
        });
        let format = attr
            .sub_message
            .as_deref()
            .and_then(|name| self.family.sub_messages.get(name))
            .and_then(|formats| {
                let key = match selector? {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                formats.iter().find(|f| f.value == key)
            });
        let Some(format) = format else {
            // The spec describes no data for this selector value (veth's peer, say): bytes.
            node.hex = Some(hex(value));
            return;
        };
        let mut rest = value;
        if let Some(header) = format.fixed_header.as_deref() {
            let (map, used) = self.structure(header, value);
            node.structure = Some(map);
            rest = value.get(align4(used)..).unwrap_or(&[]);
        }
        if format.attr_set.is_some() || !rest.is_empty() {
            node.attrs = Some(self.attrs(format.attr_set.as_deref(), rest, depth));
        }
    }

    /// A fixed-layout struct: its members as far as the bytes go, and how many bytes it took.
    fn structure(&self, name: &str, bytes: &[u8]) -> (Map<String, Value>, usize) {
        let mut map = Map::new();
        let mut pos = 0usize;
        let Some(members) = self.family.structs.get(name) else {
            return (map, 0);
        };
        for m in members {
            let size = self.family.member_size(m);
            let Some(part) = bytes.get(pos..pos + size) else {
                break;
            };
            pos += size;
            if m.kind == Kind::Pad {
                continue;
            }
            let value = if let Some(inner) = m.structure.as_deref() {
                Value::Object(self.structure(inner, part).0)
            } else {
                let mut node = Node::default();
                self.scalar(m, None, part, false, &mut node);
                match node.value {
                    Some(v) => v,
                    None => Value::String(node.hex.unwrap_or_default()),
                }
            };
            map.insert(m.name.clone(), value);
        }
        (map, pos)
    }

    /// A value that is not a nest: into `node.value` (+ `raw`), `node.structure` or `node.hex`.
    fn scalar(
        &self,
        field: &Field,
        sub_type: Option<Kind>,
        bytes: &[u8],
        net_order: bool,
        node: &mut Node,
    ) {
        let big_endian = field.big_endian || net_order;
        let integer = |width: usize| -> Option<u64> {
            (bytes.len() == width).then(|| self.uint(bytes, big_endian))
        };
        match field.kind {
            Kind::U8
            | Kind::U16
            | Kind::U32
            | Kind::U64
            | Kind::S8
            | Kind::S16
            | Kind::S32
            | Kind::S64 => {
                let width = field.kind.width().unwrap_or(0);
                match integer(width) {
                    Some(v) => self.number(field, v, width, node),
                    None => self.wrong_size(field, &format!("{width} bytes"), bytes, node),
                }
            }
            Kind::Uint | Kind::Sint => match bytes.len() {
                1 | 2 | 4 | 8 => {
                    let v = self.uint(bytes, big_endian);
                    self.number(field, v, bytes.len(), node)
                }
                _ => self.wrong_size(field, "4 or 8 bytes", bytes, node),
            },
            Kind::String => {
                let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
                let text = match text.iter().position(|b| *b == 0) {
                    // A fixed-size string field (IFNAMSIZ) is NUL-padded.
                    Some(end) if text[end..].iter().all(|b| *b == 0) => &text[..end],
                    _ => text,
                };
                node.value = Some(Value::String(String::from_utf8_lossy(text).into_owned()));
            }
            Kind::Flag => {
                node.value = Some(Value::Bool(true));
                if !bytes.is_empty() {
                    node.hex = Some(hex(bytes));
                }
            }
            Kind::Bitfield32 => match (bytes.get(0..4), bytes.get(4..8)) {
                (Some(v), Some(s)) if bytes.len() == 8 => {
                    let mut map = Map::new();
                    for (key, part) in [("value", v), ("selector", s)] {
                        let mut inner = Node::default();
                        let n = self.uint(part, false);
                        self.number(field, n, 4, &mut inner);
                        map.insert(key.into(), inner.value.unwrap_or(Value::Null));
                    }
                    node.structure = Some(map);
                }
                _ => self.wrong_size(field, "8 bytes", bytes, node),
            },
            Kind::Binary => {
                if let Some(name) = field.structure.as_deref() {
                    let (map, used) = self.structure(name, bytes);
                    node.structure = Some(map);
                    if used < bytes.len() {
                        // A newer kernel's struct may be longer than the spec's: keep the rest.
                        node.hex = Some(hex(&bytes[used..]));
                    }
                } else if let Some(text) = hinted(field.hint, bytes) {
                    node.value = Some(Value::String(text));
                } else if let Some(width) = sub_type.and_then(Kind::width) {
                    if bytes.len().is_multiple_of(width) {
                        let items = bytes
                            .chunks(width)
                            .map(|c| Value::from(self.uint(c, big_endian)))
                            .collect();
                        node.value = Some(Value::Array(items));
                    } else {
                        node.hex = Some(hex(bytes));
                    }
                } else {
                    node.hex = Some(hex(bytes));
                }
            }
            _ => node.hex = Some(hex(bytes)),
        }
    }

    fn wrong_size(&self, field: &Field, wanted: &str, bytes: &[u8], node: &mut Node) {
        node.hex = Some(hex(bytes));
        node.error = Some(format!(
            "{} needs {wanted}, has {}",
            kind_name(field.kind),
            bytes.len()
        ));
    }

    /// An integer with its enum, flags or display hint applied.
    fn number(&self, field: &Field, v: u64, width: usize, node: &mut Node) {
        if let Some(def) = field
            .enumeration
            .as_deref()
            .and_then(|e| self.family.enums.get(e))
        {
            if def.flags || field.as_flags {
                let mut names = Vec::new();
                let mut left = v;
                for (bit, name) in &def.entries {
                    if *bit < 64 && v & (1 << bit) != 0 {
                        names.push(Value::String(name.clone()));
                        left &= !(1 << bit);
                    }
                }
                if left != 0 {
                    names.push(Value::String(format!("{left:#x}")));
                }
                node.value = Some(Value::Array(names));
                node.raw = Some(v);
            } else if let Some((_, name)) = def.entries.iter().find(|(n, _)| *n == v) {
                node.value = Some(Value::String(name.clone()));
                node.raw = Some(v);
            } else {
                node.value = Some(Value::from(v));
            }
            return;
        }
        match field.hint {
            Hint::Ipv4 if width == 4 => {
                // An address in a u32 is in network order on the wire; `v` was read as such
                // only when the spec says big-endian, so print from the value's bytes.
                let addr = if field.big_endian {
                    v as u32
                } else {
                    (v as u32).swap_bytes()
                };
                node.value = Some(Value::String(Ipv4Addr::from(addr).to_string()));
            }
            Hint::Hex => node.value = Some(Value::String(format!("{v:#x}"))),
            _ if field.kind.signed() => {
                let shift = 64 - 8 * width as u32;
                node.value = Some(Value::from(((v << shift) as i64) >> shift));
            }
            _ => node.value = Some(Value::from(v)),
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::U8 => "u8",
        Kind::U16 => "u16",
        Kind::U32 => "u32",
        Kind::U64 => "u64",
        Kind::S8 => "s8",
        Kind::S16 => "s16",
        Kind::S32 => "s32",
        Kind::S64 => "s64",
        Kind::Uint => "uint",
        Kind::Sint => "sint",
        Kind::Bitfield32 => "bitfield32",
        _ => "value",
    }
}

/// A binary value shown the way its display hint asks.
fn hinted(hint: Hint, bytes: &[u8]) -> Option<String> {
    match (hint, bytes.len()) {
        (Hint::Mac, 1..) => Some(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        (Hint::Ipv4 | Hint::Ip, 4) => {
            Some(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string())
        }
        (Hint::Ipv6 | Hint::Ip, 16) => {
            Some(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string())
        }
        (Hint::Uuid, 16) => {
            let h = hex(bytes);
            Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        _ => None,
    }
}
