//! One YNL spec, compiled for decoding: attribute sets indexed by type, enums and flags by value,
//! struct layouts, sub-message formats and the message types of the operations.
//!
//! The rules for implicit values follow the kernel's YNL documentation
//! (Documentation/userspace-api/netlink/specs.rst): attributes are numbered from 1 unless a value
//! is given, enum entries from `value-start` (0), flags entries are bit positions, and operations
//! of the "unified" model are numbered from 1 in both directions; the "directional" model gives
//! request and reply values separately.

use std::collections::HashMap;

use serde_json::Value;

/// How a value is carried (`type:` of an attribute or a struct member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    /// `uint`/`sint`: 4 or 8 bytes, whichever the sender chose.
    Uint,
    Sint,
    String,
    Binary,
    Flag,
    Nest,
    IndexedArray,
    NestTypeValue,
    SubMessage,
    Bitfield32,
    Pad,
    /// A type this decoder does not know: shown as bytes.
    Other,
}

impl Kind {
    fn parse(name: &str) -> Kind {
        match name {
            "u8" => Kind::U8,
            "u16" => Kind::U16,
            "u32" => Kind::U32,
            "u64" => Kind::U64,
            "s8" => Kind::S8,
            "s16" => Kind::S16,
            "s32" => Kind::S32,
            "s64" => Kind::S64,
            "uint" => Kind::Uint,
            "sint" => Kind::Sint,
            "string" => Kind::String,
            "binary" => Kind::Binary,
            "flag" => Kind::Flag,
            "nest" => Kind::Nest,
            "indexed-array" => Kind::IndexedArray,
            "nest-type-value" => Kind::NestTypeValue,
            "sub-message" => Kind::SubMessage,
            "bitfield32" => Kind::Bitfield32,
            "pad" | "unused" => Kind::Pad,
            _ => Kind::Other,
        }
    }

    /// The width of a fixed-size integer, None for the rest.
    pub fn width(self) -> Option<usize> {
        match self {
            Kind::U8 | Kind::S8 => Some(1),
            Kind::U16 | Kind::S16 => Some(2),
            Kind::U32 | Kind::S32 => Some(4),
            Kind::U64 | Kind::S64 => Some(8),
            _ => None,
        }
    }

    pub fn signed(self) -> bool {
        matches!(
            self,
            Kind::S8 | Kind::S16 | Kind::S32 | Kind::S64 | Kind::Sint
        )
    }
}

/// `display-hint:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hint {
    #[default]
    None,
    Mac,
    Ipv4,
    Ipv6,
    /// `ipv4-or-v6`: by length.
    Ip,
    Uuid,
    Hex,
}

impl Hint {
    fn parse(v: &Value) -> Hint {
        match v.as_str() {
            Some("mac") => Hint::Mac,
            Some("ipv4") => Hint::Ipv4,
            Some("ipv6") => Hint::Ipv6,
            Some("ipv4-or-v6") => Hint::Ip,
            Some("uuid") => Hint::Uuid,
            Some("hex") => Hint::Hex,
            _ => Hint::None,
        }
    }
}

/// How one value is to be read: an attribute's or a struct member's.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    pub big_endian: bool,
    pub hint: Hint,
    /// `enum:` names a definition; `enum-as-flags` reads its entries as bit positions.
    pub enumeration: Option<String>,
    pub as_flags: bool,
    /// `struct:` of a binary value.
    pub structure: Option<String>,
    /// Struct members: the byte length of a binary/string/pad member.
    pub len: Option<usize>,
}

impl Field {
    fn parse(v: &Value, consts: &HashMap<String, u64>) -> Field {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Field {
            name: s("name").unwrap_or_default(),
            kind: Kind::parse(v.get("type").and_then(Value::as_str).unwrap_or("")),
            big_endian: v.get("byte-order").and_then(Value::as_str) == Some("big-endian"),
            hint: Hint::parse(v.get("display-hint").unwrap_or(&Value::Null)),
            enumeration: s("enum"),
            as_flags: v.get("enum-as-flags").and_then(Value::as_bool) == Some(true),
            structure: s("struct"),
            len: v.get("len").and_then(|l| match l {
                Value::Number(n) => n.as_u64().map(|n| n as usize),
                Value::String(name) => consts
                    .get(name)
                    .map(|n| *n as usize)
                    .or_else(|| name.parse().ok()),
                _ => None,
            }),
        }
    }
}

/// An attribute of an attribute set.
#[derive(Debug, Clone)]
pub struct Attr {
    pub field: Field,
    /// `nested-attributes:` of a nest, indexed-array or nest-type-value.
    pub nested: Option<String>,
    /// `sub-type:` of an indexed-array (or of a binary array).
    pub sub_type: Option<Kind>,
    /// `sub-message:` and the sibling attribute whose value picks the format.
    pub sub_message: Option<String>,
    pub selector: Option<String>,
    /// `type-value:` of a nest-type-value: the levels whose type is a key.
    pub type_value: usize,
}

#[derive(Debug, Default)]
pub struct AttrSet {
    /// `name-prefix:` (default `<family>-a-<set>-`): with an attribute's name, its C name
    /// (`ifla-` + `address` → `IFLA_ADDRESS`).
    pub prefix: String,
    pub by_type: HashMap<u16, Attr>,
    /// name → type, to find a sub-message's selector among the siblings.
    pub by_name: HashMap<String, u16>,
}

#[derive(Debug)]
pub struct EnumDef {
    pub flags: bool,
    /// (value, name); for flags the value is the bit position.
    pub entries: Vec<(u64, String)>,
}

#[derive(Debug)]
pub struct Format {
    pub value: String,
    pub attr_set: Option<String>,
    pub fixed_header: Option<String>,
}

#[derive(Debug)]
pub struct Op {
    pub name: String,
    pub attr_set: Option<String>,
    pub fixed_header: Option<String>,
}

/// A compiled spec.
#[derive(Debug, Default)]
pub struct Family {
    pub name: String,
    /// Generic netlink (`genetlink*`) or a netlink family of its own (`netlink-raw`).
    pub raw: bool,
    pub protonum: u16,
    pub attr_sets: HashMap<String, AttrSet>,
    pub enums: HashMap<String, EnumDef>,
    pub structs: HashMap<String, Vec<Field>>,
    pub sub_messages: HashMap<String, Vec<Format>>,
    pub ops: Vec<Op>,
    /// Message type (or genl command) → operation, per direction.
    pub requests: HashMap<u16, usize>,
    pub replies: HashMap<u16, usize>,
    /// Notifications and events (sent unasked), by message type.
    pub notifications: HashMap<u16, usize>,
    /// The operation whose attribute set most operations share: what a message of a type the
    /// spec lists no operation for is read with (nl80211's GET_REG answers, ctnetlink's requests).
    pub fallback: Option<usize>,
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

impl Family {
    /// Compile a spec (already turned from YAML into JSON by the build script).
    pub fn compile(spec: &Value) -> Family {
        let mut family = Family {
            name: str_of(spec, "name").unwrap_or_default(),
            raw: spec.get("protocol").and_then(Value::as_str) == Some("netlink-raw"),
            protonum: spec.get("protonum").and_then(Value::as_u64).unwrap_or(16) as u16,
            ..Family::default()
        };
        let definitions = list(spec, "definitions");
        let mut consts = HashMap::new();
        for def in &definitions {
            if def.get("type").and_then(Value::as_str) == Some("const") {
                if let (Some(name), Some(value)) = (str_of(def, "name"), def.get("value")) {
                    if let Some(n) = value.as_u64() {
                        consts.insert(name, n);
                    }
                }
            }
        }
        for def in &definitions {
            let Some(name) = str_of(def, "name") else {
                continue;
            };
            match def.get("type").and_then(Value::as_str) {
                Some(kind @ ("enum" | "flags")) => {
                    let mut next = def.get("value-start").and_then(Value::as_u64).unwrap_or(0);
                    let mut entries = Vec::new();
                    for entry in list(def, "entries") {
                        let (entry_name, value) = match &entry {
                            Value::String(s) => (s.clone(), None),
                            other => (
                                str_of(other, "name").unwrap_or_default(),
                                other.get("value").and_then(Value::as_u64),
                            ),
                        };
                        let value = value.unwrap_or(next);
                        entries.push((value, entry_name));
                        next = value + 1;
                    }
                    family.enums.insert(
                        name,
                        EnumDef {
                            flags: kind == "flags",
                            entries,
                        },
                    );
                }
                Some("struct") => {
                    let members = list(def, "members")
                        .iter()
                        .map(|m| Field::parse(m, &consts))
                        .collect();
                    family.structs.insert(name, members);
                }
                _ => {}
            }
        }
        family.compile_attr_sets(spec, &consts);
        for sub in list(spec, "sub-messages") {
            let Some(name) = str_of(&sub, "name") else {
                continue;
            };
            let formats = list(&sub, "formats")
                .iter()
                .map(|f| Format {
                    value: f
                        .get("value")
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .unwrap_or_default(),
                    attr_set: str_of(f, "attribute-set"),
                    fixed_header: str_of(f, "fixed-header"),
                })
                .collect();
            family.sub_messages.insert(name, formats);
        }
        family.compile_ops(spec);
        let mut uses: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, op) in family.ops.iter().enumerate() {
            if let Some(set) = op.attr_set.as_deref() {
                uses.entry(set).or_insert((0, i)).0 += 1;
            }
        }
        family.fallback = uses
            .values()
            .max_by_key(|(count, first)| (*count, std::cmp::Reverse(*first)))
            .map(|(_, first)| *first);
        family
    }

    /// Whether any operation's message type is in netfilter subsystem `subsys` (type >> 8).
    pub fn serves_subsystem(&self, subsys: u16) -> bool {
        let keys = self.requests.keys().chain(self.replies.keys());
        keys.chain(self.notifications.keys())
            .any(|t| t >> 8 == subsys)
    }

    fn compile_attr_sets(&mut self, spec: &Value, consts: &HashMap<String, u64>) {
        let sets = list(spec, "attribute-sets");
        // Full sets first: a `subset-of` set takes its attributes' values and types from one.
        let prefix_of = |set: &Value| {
            str_of(set, "name-prefix").unwrap_or_else(|| {
                format!(
                    "{}-a-{}-",
                    self.name,
                    str_of(set, "name").unwrap_or_default()
                )
            })
        };
        for set in sets.iter().filter(|s| s.get("subset-of").is_none()) {
            let mut compiled = AttrSet {
                prefix: prefix_of(set),
                ..AttrSet::default()
            };
            let mut next = 1u64;
            for a in list(set, "attributes") {
                let value = a.get("value").and_then(Value::as_u64).unwrap_or(next);
                next = value + 1;
                let attr = Attr {
                    field: Field::parse(&a, consts),
                    nested: str_of(&a, "nested-attributes"),
                    sub_type: a.get("sub-type").and_then(Value::as_str).map(Kind::parse),
                    sub_message: str_of(&a, "sub-message"),
                    selector: str_of(&a, "selector"),
                    type_value: a
                        .get("type-value")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len),
                };
                compiled
                    .by_name
                    .insert(attr.field.name.clone(), value as u16);
                compiled.by_type.insert(value as u16, attr);
            }
            if let Some(name) = str_of(set, "name") {
                self.attr_sets.insert(name, compiled);
            }
        }
        for set in sets.iter().filter(|s| s.get("subset-of").is_some()) {
            let (Some(name), Some(of)) = (str_of(set, "name"), str_of(set, "subset-of")) else {
                continue;
            };
            let mut compiled = AttrSet::default();
            if let Some(full) = self.attr_sets.get(&of) {
                compiled.prefix = full.prefix.clone();
                for a in list(set, "attributes") {
                    let Some(attr_name) = str_of(&a, "name") else {
                        continue;
                    };
                    if let Some(&value) = full.by_name.get(&attr_name) {
                        let mut attr = full.by_type[&value].clone();
                        // A subset may narrow what a nest holds.
                        if let Some(nested) = str_of(&a, "nested-attributes") {
                            attr.nested = Some(nested);
                        }
                        compiled.by_name.insert(attr_name, value);
                        compiled.by_type.insert(value, attr);
                    }
                }
            }
            self.attr_sets.insert(name, compiled);
        }
    }

    fn compile_ops(&mut self, spec: &Value) {
        let ops = spec.get("operations").cloned().unwrap_or(Value::Null);
        let default_header = str_of(&ops, "fixed-header");
        let directional = ops.get("enum-model").and_then(Value::as_str) == Some("directional");
        let (mut req_next, mut rsp_next) = (1u64, 1u64);
        for op in list(&ops, "list") {
            let name = str_of(&op, "name").unwrap_or_default();
            let call = op.get("do").or_else(|| op.get("dump"));
            let unasked = op.get("notify").is_some() || op.get("event").is_some();
            let attr_set = str_of(&op, "attribute-set").or_else(|| {
                // A notification without its own set uses the set of the operation it mirrors.
                let mirrored = op.get("notify").and_then(Value::as_str)?;
                list(&ops, "list")
                    .iter()
                    .find(|o| o.get("name").and_then(Value::as_str) == Some(mirrored))
                    .and_then(|o| str_of(o, "attribute-set"))
            });
            let header = |part: Option<&Value>| {
                part.and_then(|p| str_of(p, "fixed-header"))
                    .or_else(|| str_of(&op, "fixed-header"))
                    .or_else(|| default_header.clone())
            };
            let index = self.ops.len();
            self.ops.push(Op {
                name,
                attr_set,
                fixed_header: header(call.and_then(|c| c.get("request"))),
            });
            let (req, rsp);
            if directional {
                if unasked {
                    rsp = op.get("value").and_then(Value::as_u64).unwrap_or(rsp_next);
                    rsp_next = rsp + 1;
                    self.notifications.insert(rsp as u16, index);
                    continue;
                }
                let Some(call) = call else {
                    continue;
                };
                let request = call.get("request");
                let reply = call.get("reply");
                let r = request
                    .and_then(|r| r.get("value"))
                    .and_then(Value::as_u64)
                    .unwrap_or(req_next);
                req = Some(r);
                req_next = r + 1;
                let p = reply
                    .and_then(|r| r.get("value"))
                    .and_then(Value::as_u64)
                    .unwrap_or(rsp_next);
                rsp = p;
                if reply.is_some() {
                    rsp_next = p + 1;
                }
                if reply.is_none() {
                    if let Some(r) = req {
                        self.requests.entry(r as u16).or_insert(index);
                    }
                    continue;
                }
            } else {
                let v = op.get("value").and_then(Value::as_u64).unwrap_or(req_next);
                req_next = v + 1;
                if unasked {
                    self.notifications.insert(v as u16, index);
                    continue;
                }
                req = Some(v);
                rsp = v;
            }
            if let Some(r) = req {
                self.requests.entry(r as u16).or_insert(index);
            }
            self.replies.entry(rsp as u16).or_insert(index);
        }
    }

    /// The operation a message of type (or genl command) `value` is, by direction.
    pub fn op_for(&self, value: u16, request: bool, unasked: bool) -> Option<&Op> {
        let index = if request {
            self.requests.get(&value)
        } else if unasked {
            self.notifications
                .get(&value)
                .or_else(|| self.replies.get(&value))
        } else {
            self.replies
                .get(&value)
                .or_else(|| self.notifications.get(&value))
        };
        index.map(|i| &self.ops[*i])
    }

    /// The C name of an attribute of a set (`IFLA_ADDRESS`).
    pub fn c_name(set: &AttrSet, attr: &str) -> String {
        format!("{}{attr}", set.prefix)
            .to_ascii_uppercase()
            .replace('-', "_")
    }

    /// The byte size of a struct (its members' widths and lengths).
    pub fn struct_size(&self, name: &str) -> usize {
        self.structs.get(name).map_or(0, |members| {
            members.iter().map(|m| self.member_size(m)).sum()
        })
    }

    pub fn member_size(&self, m: &Field) -> usize {
        m.kind
            .width()
            .or(m.len)
            .or_else(|| m.structure.as_deref().map(|s| self.struct_size(s)))
            .unwrap_or(0)
    }
}
