//! The decoder: one captured packet (the netlink messages of one skb) → one record per message.
//!
//! A pure function of the bytes, the netlink family and the generic-netlink id → name map.
//! Everything is bounds-checked; what cannot be split or parsed yields a record with
//! `malformed` set, never a panic (and `decode_packet` also catches one, should a parser crate
//! ever panic).

use crate::netlink::extack::{read_u16, read_u32};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use netlink_packet_core::Parseable;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use serde::Serialize;

use super::{connector, names, ynl};
use crate::link;
use crate::netlink::consts::{
    GENL_ID_CTRL, NETLINK_GENERIC, NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN,
    NLMSG_MIN_TYPE, NLM_F_CAPPED, NLM_F_MULTI, NLM_F_REQUEST,
};

/// Families the nlmon tap never sees but files other recorders wrote may hold (netlink.h).
const NETLINK_AUDIT: u16 = libc::NETLINK_AUDIT as u16;
const NETLINK_CONNECTOR: u16 = libc::NETLINK_CONNECTOR as u16;
const NETLINK_KOBJECT_UEVENT: u16 = libc::NETLINK_KOBJECT_UEVENT as u16;
use crate::netlink::error::{errno_name, panic_message, strerror};
use crate::netlink::extack;

/// What is known about the packet a message came in.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketMeta {
    /// 1-based packet number (tshark's frame.number).
    pub index: u64,
    pub sec: u64,
    pub nsec: u32,
    /// sll_pkttype (6 = to a user socket, 7 = to the kernel).
    pub pkttype: u16,
    /// The netlink family (sll_protocol).
    pub family: u16,
    /// Fewer bytes were captured than were sent (a snap length): the last message is cut.
    pub truncated: bool,
    /// The capturing host was big-endian (a file's byte order): netlink is in host order.
    pub big_endian: bool,
}

/// Where a generic netlink family name came from (the record's `family_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameSource {
    /// The captured kernel: its CTRL_CMD_GETFAMILY dump, or its traffic during a live capture.
    #[default]
    Kernel,
    /// The file's own nlctrl traffic (CTRL_CMD_NEWFAMILY seen earlier in the file).
    File,
    /// nlctrl itself: its id (GENL_ID_CTRL) is fixed by the kernel ABI.
    Fixed,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Kernel => "kernel",
            NameSource::File => "file",
            NameSource::Fixed => "fixed",
        }
    }
}

/// Generic netlink family ids → names, learnt from CTRL_CMD_GETFAMILY and from the traffic.
#[derive(Debug, Clone, Default)]
pub struct GenlNames {
    map: HashMap<u16, (String, NameSource)>,
    /// The source of names learnt from the traffic being decoded.
    learnt: NameSource,
}

impl GenlNames {
    /// For a live capture: names from the captured kernel.
    pub fn new() -> Self {
        let mut map = HashMap::new();
        map.insert(GENL_ID_CTRL, ("nlctrl".to_string(), NameSource::Fixed));
        GenlNames {
            map,
            learnt: NameSource::Kernel,
        }
    }
    /// For a file: nothing but nlctrl until the file's own nlctrl traffic names a family.
    pub fn offline() -> Self {
        GenlNames {
            learnt: NameSource::File,
            ..GenlNames::new()
        }
    }
    /// A name from the kernel's CTRL_CMD_GETFAMILY dump.
    pub fn insert(&mut self, id: u16, name: String) {
        self.map.insert(id, (name, NameSource::Kernel));
    }
    /// A name the decoded traffic announced.
    fn learn(&mut self, id: u16, name: String) {
        // An empty name (a malformed announcement, found by the fuzz) names nothing.
        if name.is_empty() || name.starts_with(' ') {
            return;
        }
        self.map.insert(id, (name, self.learnt));
    }
    pub fn get(&self, id: u16) -> Option<&str> {
        self.map.get(&id).map(|(n, _)| n.as_str())
    }
    pub fn source(&self, id: u16) -> Option<NameSource> {
        self.map.get(&id).map(|(_, s)| *s)
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Record {
    pub time: String,
    pub packet: u64,
    pub dir: &'static str,
    pub family: String,
    pub family_id: u16,
    #[serde(rename = "type")]
    pub type_name: String,
    pub type_id: u16,
    pub flags: Vec<String>,
    pub flags_raw: u16,
    pub seq: u32,
    pub port: u32,
    pub len: u32,
    /// Generic netlink: where the family name (`type`) came from: "kernel", "file", "fixed"
    /// (nlctrl), or "unknown" (then `type` is `GENL_ID_<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genl: Option<Genl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// NETLINK_CONNECTOR: the `struct cn_msg` (and a proc event) an NLMSG_DONE carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<connector::CnMsg>,
    /// NETLINK_KOBJECT_UEVENT: the uevent's `KEY=value` lines (the first is `ACTION@DEVPATH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uevent: Option<Vec<String>>,
    /// Said of a message whose payload this decoder does not take apart (audit…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_decoded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attrs: Option<Attrs>,
    /// Every attribute, from the family's YNL spec (see capture/ynl).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<ynl::Decoded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
    /// The packet was cut by a snap length inside this message: decoded as far as it goes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// The process that sent the message, or owns the port it is addressed to; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<super::process::Process>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Genl {
    pub cmd: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd_name: Option<&'static str>,
    /// The family's YNL spec operation this command is (`get-interface`), by direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    pub version: u8,
}

/// NLMSG_ERROR (errno 0 = ACK) and NLMSG_DONE's code.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct ErrorInfo {
    pub errno: i32,
    /// 0: `ACK` on NLMSG_ERROR, `DONE` on NLMSG_DONE; else the errno name (`EEXIST`).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// NLMSGERR_ATTR_MSG: the kernel's text, also on a successful ACK or DONE (a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack: Option<String>,
    /// NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_offset: Option<u32>,
    /// The attribute at that offset in the echoed request (`IFLA_ADDRESS`, or `attr_3`; a
    /// nested one as `IFLA_LINKINFO/attr_2`), when the request was echoed (not NLM_F_CAPPED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_attr: Option<String>,
    /// NLMSGERR_ATTR_MISS_TYPE: the type of a missing attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_miss_type: Option<u32>,
    /// NLMSGERR_ATTR_MISS_NEST: offset of the nest the attribute is missing from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_miss_nest: Option<u32>,
    /// NLMSGERR_ATTR_COOKIE, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_cookie: Option<String>,
    /// NLMSGERR_ATTR_POLICY: the policy the offending attribute broke (NL_POLICY_TYPE_ATTR_*).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extack_policy: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// The header of the request this answers (NLMSG_ERROR only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_seq: Option<u32>,
    /// The rest of that header: with type and seq it identifies the request among others that
    /// share its sequence number (trace --only-cmd matches ACKs to requests with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_flags_raw: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_len: Option<u32>,
    /// The request's nlmsg_pid (the port id its sender put there; 0 lets the kernel fill it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_port: Option<u32>,
}

/// The main attributes of rtnetlink link/address/route/neighbour messages and of nlctrl.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Attrs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// ifinfomsg.ifi_flags (IFF_*), not the message's nlmsg_flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifi_flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub af: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefixlen: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lladdr: Option<String>,
    /// nlctrl's CTRL_ATTR_FAMILY_NAME / CTRL_ATTR_FAMILY_ID: the family a message is about, not
    /// the netlink family of the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctrl_family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctrl_family_id: Option<u16>,
}

/// How to decode.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub hex: bool,
    /// The whole attribute tree (`decoded`), for --json and --verbose.
    pub tree: bool,
}

/// ISO 8601 UTC with nanoseconds, from a Unix time.
pub fn iso_time(sec: u64, nsec: u32) -> String {
    let days = (sec / 86_400) as i64;
    let rem = sec % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nsec:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The fixed nlmsghdr fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub msg_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
}

/// An nlmsghdr written by a host of this machine's byte order.
pub fn header(bytes: &[u8]) -> Option<Header> {
    header_in(bytes, cfg!(target_endian = "big"))
}

/// An nlmsghdr written by a host of the given byte order.
pub fn header_in(bytes: &[u8], big_endian: bool) -> Option<Header> {
    let b: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
    let u16_at = |i: usize| {
        let v = [b[i], b[i + 1]];
        if big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    };
    let u32_at = |i: usize| {
        let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    };
    Some(Header {
        len: u32_at(0),
        msg_type: u16_at(4),
        flags: u16_at(6),
        seq: u32_at(8),
        port: u32_at(12),
    })
}

/// Walk the messages of a packet: calls `each(header, whole message bytes)`; returns the problem
/// that stopped the walk, if any (then `offset` is where it stopped).
pub fn split<'a>(
    bytes: &'a [u8],
    big_endian: bool,
    mut each: impl FnMut(Header, &'a [u8]),
) -> Result<(), (usize, String)> {
    let mut offset = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        // Senders may pass a buffer longer than their message (iproute2's dump requests carry
        // 128 spare zero bytes); the kernel stops at such zero padding without complaint.
        if rest.iter().all(|b| *b == 0) {
            break;
        }
        let Some(h) = header_in(rest, big_endian) else {
            return Err((
                offset,
                format!(
                    "{} trailing bytes, shorter than a netlink header",
                    rest.len()
                ),
            ));
        };
        let len = h.len as usize;
        if len < NLMSG_HDRLEN {
            return Err((
                offset,
                format!("nlmsg_len {len} is less than the 16-byte header"),
            ));
        }
        if len > rest.len() {
            return Err((
                offset,
                format!(
                    "nlmsg_len {len} exceeds the {} bytes left in the packet",
                    rest.len()
                ),
            ));
        }
        each(h, &rest[..len]);
        let step = (len + 3) & !3;
        if step >= rest.len() {
            break;
        }
        offset += step;
    }
    Ok(())
}

/// Count the messages of a packet and call `each(type)` for each (the cheap path of the reader).
pub fn count_messages(bytes: &[u8], big_endian: bool, mut each: impl FnMut(u16)) -> usize {
    let mut n = 0;
    let result = split(bytes, big_endian, |h, _| {
        n += 1;
        each(h.msg_type);
    });
    if result.is_err() {
        n += 1;
        each(u16::MAX);
    }
    n
}

/// Decode every message of one packet into `out`. `limit` caps the number of records.
pub fn decode_packet(
    meta: &PacketMeta,
    bytes: &[u8],
    genl: &mut GenlNames,
    opts: Options,
    out: &mut Vec<Record>,
) {
    let start = out.len();
    let result = catch_unwind(AssertUnwindSafe(|| {
        decode_inner(meta, bytes, genl, opts, out)
    }));
    if let Err(payload) = result {
        out.truncate(start);
        let mut record = base(meta);
        record.len = bytes.len() as u32;
        record.type_name = "MALFORMED".into();
        record.malformed = Some(format!(
            "decoder panic: {}",
            panic_message(payload.as_ref())
        ));
        if opts.hex {
            record.hex = Some(to_hex(bytes));
        }
        out.push(record);
    }
}

fn base(meta: &PacketMeta) -> Record {
    Record {
        time: iso_time(meta.sec, meta.nsec),
        packet: meta.index,
        dir: names::direction(meta.pkttype),
        family: names::family_name(meta.family).into_owned(),
        family_id: meta.family,
        ..Record::default()
    }
}

fn decode_inner(
    meta: &PacketMeta,
    bytes: &[u8],
    genl: &mut GenlNames,
    opts: Options,
    out: &mut Vec<Record>,
) {
    if meta.family == NETLINK_KOBJECT_UEVENT {
        // Uevents are not nlmsghdr-framed: the packet is one text message.
        out.push(uevent(meta, bytes, opts));
        return;
    }
    let mut messages = Vec::new();
    let result = split(bytes, meta.big_endian, |h, msg| messages.push((h, msg)));
    for (h, msg) in messages {
        out.push(decode_message(meta, h, msg, genl, opts));
    }
    if let Err((offset, why)) = result {
        let rest = bytes.get(offset..).unwrap_or(&[]);
        // A snap length cut the last message: decode what is there, marked truncated.
        if let Some(h) = header_in(rest, meta.big_endian)
            .filter(|h| meta.truncated && h.len as usize > rest.len())
        {
            let mut record = decode_message(meta, h, rest, genl, opts);
            record.truncated = true;
            // The cut explains a last attribute that does not fit; it is not malformed.
            record.malformed = None;
            out.push(record);
            return;
        }
        let mut record = base(meta);
        if let Some(h) = header_in(rest, meta.big_endian) {
            record.type_id = h.msg_type;
            record.flags_raw = h.flags;
            record.seq = h.seq;
            record.port = h.port;
        }
        record.type_name = "MALFORMED".into();
        record.len = rest.len() as u32;
        record.malformed = Some(why);
        if opts.hex {
            record.hex = Some(to_hex(rest));
        }
        out.push(record);
    }
}

/// One well-framed message (`msg` holds its `nlmsg_len` bytes).
pub fn decode_message(
    meta: &PacketMeta,
    h: Header,
    msg: &[u8],
    genl: &mut GenlNames,
    opts: Options,
) -> Record {
    let payload = msg.get(NLMSG_HDRLEN..).unwrap_or(&[]);
    let family = meta.family;
    let mut record = base(meta);
    record.type_id = h.msg_type;
    record.flags_raw = h.flags;
    record.seq = h.seq;
    record.port = h.port;
    record.len = h.len;
    // The tap marks every packet PACKET_OUTGOING: then the flags say.
    record.dir = names::message_direction(meta.pkttype, h.flags);
    record.type_name = names::type_name(family, h.msg_type, |id| genl.get(id).map(str::to_string));
    if opts.hex {
        record.hex = Some(to_hex(msg));
    }
    if meta.big_endian {
        decode_big_endian(&mut record, h, payload, genl);
        return record;
    }
    let mut cmd_name = None;
    match h.msg_type {
        NLMSG_DONE if family == NETLINK_CONNECTOR => match connector::decode(payload) {
            Ok(cn) => record.connector = Some(cn),
            Err(why) => record.malformed = Some(why),
        },
        NLMSG_ERROR => decode_error(&mut record, h, payload, family, genl),
        NLMSG_DONE => decode_done(&mut record, h, payload),
        t if t < NLMSG_MIN_TYPE => {}
        t if family == NETLINK_ROUTE => decode_route(&mut record, t, payload),
        t if family == NETLINK_GENERIC => {
            record.family_source = Some(genl.source(t).map_or("unknown", NameSource::as_str));
            cmd_name = decode_genl(&mut record, t, payload, genl);
            if let (Some(g), Some(name)) = (record.genl.as_mut(), genl.get(t)) {
                g.op = ynl::genl_op_name(name, g.cmd, direction(h));
            }
        }
        _ if family == NETLINK_AUDIT => {
            record.not_decoded = Some("audit message: payload not decoded".into());
        }
        _ => {}
    }
    if opts.tree && h.msg_type >= NLMSG_MIN_TYPE {
        record.decoded = tree(family, h, payload, genl, false);
    }
    // A genl command's kind (get/new/del) from its spec operation's name when nlctrl's table
    // has none: `get-interface` is a GET, so its 0x300 is ROOT|MATCH.
    let op_kind = record
        .genl
        .as_ref()
        .and_then(|g| g.op)
        .map(|op| format!("_{}", op.to_ascii_uppercase().replace('-', "_")));
    let kind = names::flag_kind(
        family,
        h.msg_type,
        &record.type_name,
        cmd_name.or(op_kind.as_deref()),
    );
    record.flags = names::flag_names(h.flags, kind);
    record
}

/// Which way a message went, as the specs' operations tell requests from answers.
fn direction(h: Header) -> ynl::Direction {
    ynl::Direction {
        request: h.flags & NLM_F_REQUEST != 0,
        // Dump parts are NLM_F_MULTI and answers carry the request's sequence number.
        unasked: h.flags & NLM_F_MULTI == 0 && h.seq == 0,
    }
}

/// A message of a big-endian host's file. The header, the errno of NLMSG_ERROR/DONE and the
/// spec-driven tree are read in that byte order; the summary attributes and the extended ACK,
/// whose parsers read this host's order, are left out (`not_decoded` says so).
fn decode_big_endian(record: &mut Record, h: Header, payload: &[u8], genl: &mut GenlNames) {
    let family = record.family_id;
    let code = payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes);
    match h.msg_type {
        NLMSG_ERROR | NLMSG_DONE => {
            let done = h.msg_type == NLMSG_DONE;
            let mut info = error_info(code.unwrap_or(0), if done { "DONE" } else { "ACK" });
            if let Some(orig) = (!done)
                .then(|| header_in(payload.get(4..).unwrap_or(&[]), true))
                .flatten()
            {
                info.set_request(orig, family, genl);
            }
            record.error = Some(info);
        }
        t if t < NLMSG_MIN_TYPE => {}
        t => {
            if family == NETLINK_GENERIC {
                record.family_source = Some(genl.source(t).map_or("unknown", NameSource::as_str));
                if let (Some(&cmd), Some(&version)) = (payload.first(), payload.get(1)) {
                    record.genl = Some(Genl {
                        cmd,
                        cmd_name: (t == GENL_ID_CTRL)
                            .then(|| names::ctrl_cmd_name(cmd))
                            .flatten(),
                        op: genl
                            .get(t)
                            .and_then(|name| ynl::genl_op_name(name, cmd, direction(h))),
                        version,
                    });
                }
            }
            // The tree is all this file's messages are shown with (and where nlctrl's
            // announcements are read from): made even without --json or --verbose.
            record.decoded = tree(family, h, payload, genl, true);
            if family == NETLINK_GENERIC && h.msg_type == GENL_ID_CTRL {
                learn_from_tree(record, genl);
            }
            record.not_decoded = Some(
                "from a big-endian host: summary attributes not shown, every attribute is under decoded"
                    .into(),
            );
        }
    }
    let kind = names::flag_kind(family, h.msg_type, &record.type_name, None);
    record.flags = names::flag_names(h.flags, kind);
}

/// nlctrl's announcements, read from the spec-driven tree (a big-endian file's).
fn learn_from_tree(record: &Record, genl: &mut GenlNames) {
    let (Some(tree), Some(g)) = (&record.decoded, &record.genl) else {
        return;
    };
    let value = |name: &str| tree.attrs.iter().find(|n| n.name == name)?.value.clone();
    let id = value("family-id")
        .and_then(|v| v.as_u64())
        .and_then(|v| u16::try_from(v).ok());
    let name = value("family-name").and_then(|v| v.as_str().map(str::to_string));
    if let (Some(id), Some(name)) = (id, name) {
        match g.cmd {
            CTRL_CMD_NEWFAMILY => genl.learn(id, name),
            CTRL_CMD_DELFAMILY => genl.learn(id, format!("{name} (deleted)")),
            _ => {}
        }
    }
}

/// The spec-driven tree of a message, when its family has a spec that knows it.
fn tree(
    family: u16,
    h: Header,
    payload: &[u8],
    genl: &GenlNames,
    big_endian: bool,
) -> Option<ynl::Decoded> {
    let dir = direction(h);
    if family == crate::netlink::consts::NETLINK_SOCK_DIAG {
        // No kernel spec describes sock_diag: decoded by hand, into the same tree.
        return super::sockdiag::decode(h.msg_type, dir.request, payload, big_endian);
    }
    if family == NETLINK_GENERIC {
        let name = genl.get(h.msg_type)?;
        let cmd = *payload.first()?;
        ynl::decode_genl(name, cmd, dir, payload.get(4..).unwrap_or(&[]), big_endian)
    } else {
        ynl::decode_raw(family, h.msg_type, dir, payload, big_endian)
    }
}

fn decode_error(record: &mut Record, h: Header, payload: &[u8], family: u16, genl: &GenlNames) {
    let Some(code) = read_u32(payload, 0).map(|c| c as i32) else {
        record.malformed = Some(format!(
            "NLMSG_ERROR payload of {} bytes has no error code",
            payload.len()
        ));
        return;
    };
    let after = payload.get(4..).unwrap_or(&[]);
    let mut info = error_info(code, "ACK");
    if let Some(orig) = header(after) {
        info.set_request(orig, family, genl);
    } else {
        record.malformed = Some("NLMSG_ERROR without the request's header".into());
    }
    // A successful ACK may carry a warning too (NLMSGERR_ATTR_MSG with errno 0).
    let ack = extack::parse_error(h.flags, after);
    // The request is echoed whole unless NLM_F_CAPPED: then OFFS names an attribute in it.
    let request = (h.flags & NLM_F_CAPPED == 0)
        .then(|| header(after).and_then(|o| after.get(..o.len as usize)))
        .flatten();
    set_extack(&mut info, ack, family, request, genl);
    record.error = Some(info);
}

fn decode_done(record: &mut Record, h: Header, payload: &[u8]) {
    // The kernel allows an NLMSG_DONE without a code.
    let code = read_u32(payload, 0).map_or(0, |c| c as i32);
    let mut info = error_info(code, "DONE");
    let ack = extack::parse_done(h.flags, payload.get(4..).unwrap_or(&[]));
    set_extack(&mut info, ack, 0, None, &GenlNames::default());
    record.error = Some(info);
}

fn set_extack(
    info: &mut ErrorInfo,
    ack: extack::ExtAck,
    family: u16,
    request: Option<&[u8]>,
    genl: &GenlNames,
) {
    info.extack = ack.msg;
    info.extack_offset = ack.offset;
    if let (Some(offset), Some(request)) = (ack.offset, request) {
        info.extack_attr = attr_at(family, request, offset as usize, genl);
    }
    info.extack_miss_type = ack.miss_type;
    info.extack_miss_nest = ack.miss_nest;
    info.extack_cookie = ack.cookie.map(|c| to_hex(&c));
    info.extack_policy = ack.policy.map(|p| {
        p.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    extack::PolicyValue::Name(n) => serde_json::Value::from(n),
                    // u64 first: a u64 policy's max (U64_MAX) is a number too, not a string
                    extack::PolicyValue::Number(n) => u64::try_from(n)
                        .map(serde_json::Value::from)
                        .or_else(|_| i64::try_from(n).map(serde_json::Value::from))
                        .unwrap_or_else(|_| serde_json::Value::from(n.to_string())),
                };
                (k, v)
            })
            .collect()
    });
}

/// The attribute of the echoed `request` that starts at `offset` (from the request's nlmsghdr),
/// by its C name from the family's YNL spec (`IFLA_ADDRESS`; nested: `IFLA_LINKINFO/IFLA_INFO_KIND`;
/// one the spec does not name: `attr_<type>`). None when no attribute starts there.
pub fn attr_at(family: u16, request: &[u8], offset: usize, genl: &GenlNames) -> Option<String> {
    let h = header(request)?;
    let payload = request.get(NLMSG_HDRLEN..)?;
    let offset = offset.checked_sub(NLMSG_HDRLEN)?;
    let genl_name = if family == NETLINK_GENERIC {
        Some(genl.get(h.msg_type)?)
    } else {
        None
    };
    ynl::request_attr_at(family, h.msg_type, genl_name, payload, offset)
}

impl ErrorInfo {
    /// The header of the request an NLMSG_ERROR echoes.
    fn set_request(&mut self, orig: Header, family: u16, genl: &GenlNames) {
        self.request_type = Some(names::type_name(family, orig.msg_type, |id| {
            genl.get(id).map(str::to_string)
        }));
        self.request_seq = Some(orig.seq);
        self.request_type_id = Some(orig.msg_type);
        self.request_flags_raw = Some(orig.flags);
        self.request_len = Some(orig.len);
        self.request_port = Some(orig.port);
    }
}

fn error_info(code: i32, ok_name: &str) -> ErrorInfo {
    if code == 0 {
        return ErrorInfo {
            errno: 0,
            name: ok_name.into(),
            ..ErrorInfo::default()
        };
    }
    let errno = code.saturating_neg();
    ErrorInfo {
        errno,
        name: errno_name(errno),
        message: Some(strerror(errno)),
        ..ErrorInfo::default()
    }
}

/// A kobject uevent: `ACTION@DEVPATH` then `KEY=value`, NUL-separated (lib/kobject_uevent.c).
/// udev's re-broadcast ("libudev" + a binary header) is said to be not decoded.
fn uevent(meta: &PacketMeta, bytes: &[u8], opts: Options) -> Record {
    let mut record = base(meta);
    record.type_name = "UEVENT".into();
    record.len = bytes.len() as u32;
    record.dir = "to-user";
    if bytes.starts_with(b"libudev\0") {
        record.not_decoded = Some("libudev monitor message: not decoded".into());
    } else {
        record.uevent = Some(
            bytes
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect(),
        );
    }
    if opts.hex {
        record.hex = Some(to_hex(bytes));
    }
    record
}

const RTM_LINK: std::ops::RangeInclusive<u16> = 16..=19;
const RTM_ADDR: std::ops::RangeInclusive<u16> = 20..=22;
const RTM_ROUTE: std::ops::RangeInclusive<u16> = 24..=26;
const RTM_NEIGH: std::ops::RangeInclusive<u16> = 28..=30;

fn ip(addr: &IpAddr) -> String {
    addr.to_string()
}

fn route_addr(addr: &RouteAddress) -> String {
    match addr {
        RouteAddress::Inet(a) => a.to_string(),
        RouteAddress::Inet6(a) => a.to_string(),
        RouteAddress::Mpls(label) => format!("mpls:{}", label.label),
        RouteAddress::Other(bytes) => to_hex(bytes),
        #[allow(unreachable_patterns)]
        _ => "?".into(),
    }
}

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn af_name(af: u8) -> String {
    match af {
        0 => "unspec".into(),
        2 => "inet".into(),
        7 => "bridge".into(),
        10 => "inet6".into(),
        16 => "netlink".into(),
        17 => "packet".into(),
        28 => "mpls".into(),
        other => format!("af_{other}"),
    }
}

fn decode_route(record: &mut Record, t: u16, payload: &[u8]) {
    // iproute2 sends 4-byte (rtgenmsg) dump requests: only the family is meaningful.
    if payload.len() < 8 {
        if let Some(af) = payload.first() {
            record.attrs = Some(Attrs {
                af: Some(af_name(*af)),
                ..Attrs::default()
            });
        }
        return;
    }
    if RTM_LINK.contains(&t) {
        // The one link decoder (link/decode.rs): in place, only the attributes a link is shown
        // with, so the decoder keeps up with dump bursts.
        match link::decode::read(payload) {
            Ok(link) => {
                record.attrs = Some(Attrs {
                    ifindex: Some(link.ifindex),
                    ifi_flags: Some(link.flags),
                    ifname: link.ifname.map(str::to_string),
                    mtu: link.mtu,
                    kind: link.kind.map(str::to_string),
                    ..Attrs::default()
                });
                if let Some(problem) = link.malformed {
                    record.malformed = Some(format!("link message: {problem}"));
                }
            }
            Err(e) => record.malformed = Some(format!("link message: {e}")),
        }
    } else if RTM_ADDR.contains(&t) {
        match AddressMessage::parse(payload) {
            Ok(m) => {
                let mut attrs = Attrs {
                    ifindex: Some(m.header.index),
                    prefixlen: Some(m.header.prefix_len),
                    af: Some(af_name(u8::from(m.header.family))),
                    ..Attrs::default()
                };
                for a in &m.attributes {
                    match a {
                        AddressAttribute::Address(x) => attrs.address = Some(ip(x)),
                        AddressAttribute::Local(x) => attrs.local = Some(ip(x)),
                        AddressAttribute::Label(l) => attrs.label = Some(l.clone()),
                        _ => {}
                    }
                }
                record.attrs = Some(attrs);
            }
            Err(e) => record.malformed = Some(format!("address message: {e}")),
        }
    } else if RTM_ROUTE.contains(&t) {
        match RouteMessage::parse(payload) {
            Ok(m) => {
                let mut attrs = Attrs {
                    prefixlen: Some(m.header.destination_prefix_length),
                    af: Some(af_name(u8::from(m.header.address_family))),
                    table: Some(u32::from(m.header.table)),
                    ..Attrs::default()
                };
                for a in &m.attributes {
                    match a {
                        RouteAttribute::Destination(x) => attrs.dst = Some(route_addr(x)),
                        RouteAttribute::Gateway(x) => attrs.gateway = Some(route_addr(x)),
                        RouteAttribute::Oif(i) => attrs.oif = Some(*i),
                        RouteAttribute::Table(i) => attrs.table = Some(*i),
                        _ => {}
                    }
                }
                record.attrs = Some(attrs);
            }
            Err(e) => record.malformed = Some(format!("route message: {e}")),
        }
    } else if RTM_NEIGH.contains(&t) {
        match NeighbourMessage::parse(payload) {
            Ok(m) => {
                let mut attrs = Attrs {
                    ifindex: Some(m.header.ifindex),
                    af: Some(af_name(u8::from(m.header.family))),
                    ..Attrs::default()
                };
                for a in &m.attributes {
                    match a {
                        NeighbourAttribute::Destination(NeighbourAddress::Inet(x)) => {
                            attrs.dst = Some(x.to_string())
                        }
                        NeighbourAttribute::Destination(NeighbourAddress::Inet6(x)) => {
                            attrs.dst = Some(x.to_string())
                        }
                        NeighbourAttribute::LinkLayerAddress(b) => attrs.lladdr = Some(mac(b)),
                        _ => {}
                    }
                }
                record.attrs = Some(attrs);
            }
            Err(e) => record.malformed = Some(format!("neighbour message: {e}")),
        }
    }
}

const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_DELFAMILY: u8 = 2;

/// Walk netlink attributes (type without the nested/byte-order bits, value).
pub fn attributes(bytes: &[u8], mut each: impl FnMut(u16, &[u8])) {
    let mut pos = 0usize;
    while let (Some(len), Some(kind)) = (read_u16(bytes, pos), read_u16(bytes, pos + 2)) {
        let len = usize::from(len);
        if len < 4 {
            break;
        }
        let Some(value) = bytes.get(pos + 4..pos + len) else {
            break;
        };
        each(kind & 0x3fff, value);
        pos += (len + 3) & !3;
    }
}

/// nlctrl's family id and name attributes.
pub fn ctrl_family(attrs_bytes: &[u8]) -> (Option<u16>, Option<String>) {
    let mut id = None;
    let mut name = None;
    attributes(attrs_bytes, |kind, value| match kind {
        CTRL_ATTR_FAMILY_ID => id = read_u16(value, 0),
        CTRL_ATTR_FAMILY_NAME => {
            let text = value.split(|b| *b == 0).next().unwrap_or(&[]);
            name = Some(String::from_utf8_lossy(text).into_owned());
        }
        _ => {}
    });
    (id, name)
}

fn decode_genl(
    record: &mut Record,
    t: u16,
    payload: &[u8],
    genl: &mut GenlNames,
) -> Option<&'static str> {
    let (Some(&cmd), Some(&version)) = (payload.first(), payload.get(1)) else {
        record.malformed = Some(format!(
            "generic netlink payload of {} bytes has no genlmsghdr",
            payload.len()
        ));
        return None;
    };
    if payload.len() < 4 {
        record.malformed = Some("generic netlink header shorter than 4 bytes".into());
    }
    let mut cmd_name = None;
    if t == GENL_ID_CTRL {
        cmd_name = names::ctrl_cmd_name(cmd);
        let (id, name) = ctrl_family(payload.get(4..).unwrap_or(&[]));
        if id.is_some() || name.is_some() {
            record.attrs = Some(Attrs {
                ctrl_family_id: id,
                ctrl_family_name: name.clone(),
                ..Attrs::default()
            });
        }
        // Learn from the traffic: the kernel announces (and answers with) id ↔ name.
        if let (Some(id), Some(name)) = (id, name) {
            if cmd == CTRL_CMD_NEWFAMILY {
                genl.learn(id, name);
            } else if cmd == CTRL_CMD_DELFAMILY {
                genl.learn(id, format!("{name} (deleted)"));
            }
        }
    }
    record.genl = Some(Genl {
        cmd,
        cmd_name,
        op: None,
        version,
    });
    cmd_name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::schema;
    use crate::netlink::testing::tlv;

    /// `ip link add dummy0 type dummy` as iproute2 6.x sends it (seq 1700000000, port 0).
    pub fn newlink_request() -> Vec<u8> {
        let mut m = Vec::new();
        let attrs: Vec<u8> = [
            // IFLA_IFNAME "dummy0"
            &[11, 0, 3, 0][..],
            b"dummy0\0",
            &[0][..],
            // IFLA_LINKINFO { IFLA_INFO_KIND "dummy" }
            &[16, 0, 18, 0, 10, 0, 1, 0][..],
            b"dummy\0",
            &[0, 0][..],
        ]
        .concat();
        let len = 16 + 16 + attrs.len();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&16u16.to_ne_bytes());
        m.extend_from_slice(&0x605u16.to_ne_bytes());
        m.extend_from_slice(&1_700_000_000u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&[0u8; 16]); // ifinfomsg
        m.extend_from_slice(&attrs);
        m
    }

    fn error_reply(code: i32, extack: Option<&str>, request: &[u8]) -> Vec<u8> {
        let mut tlv = Vec::new();
        if let Some(text) = extack {
            let len = 4 + text.len() + 1;
            tlv.extend_from_slice(&(len as u16).to_ne_bytes());
            tlv.extend_from_slice(&1u16.to_ne_bytes());
            tlv.extend_from_slice(text.as_bytes());
            tlv.push(0);
            while tlv.len() % 4 != 0 {
                tlv.push(0);
            }
        }
        let flags: u16 = 0x100 | if extack.is_some() { 0x200 } else { 0 };
        let len = 16 + 4 + 16 + tlv.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&request[8..12]);
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(&code.to_ne_bytes());
        m.extend_from_slice(&request[..16]);
        m.extend_from_slice(&tlv);
        m
    }

    fn route_meta() -> PacketMeta {
        PacketMeta {
            index: 1,
            sec: 1_700_000_000,
            nsec: 5,
            pkttype: 7,
            family: 0,
            truncated: false,
            big_endian: false,
        }
    }

    /// A big-endian host's `ip link add be0 mtu 1400` and the EEXIST it got: every number in
    /// that host's order.
    fn big_endian_packet() -> Vec<u8> {
        let be_tlv = |kind: u16, value: &[u8]| {
            let mut out = Vec::new();
            out.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(value);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out
        };
        let nlmsg = |kind: u16, flags: u16, body: &[u8]| {
            let mut m = Vec::new();
            m.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
            m.extend_from_slice(&kind.to_be_bytes());
            m.extend_from_slice(&flags.to_be_bytes());
            m.extend_from_slice(&77u32.to_be_bytes());
            m.extend_from_slice(&0u32.to_be_bytes());
            m.extend_from_slice(body);
            m
        };
        let mut ifinfomsg = vec![0u8, 0];
        ifinfomsg.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
        ifinfomsg.extend_from_slice(&9i32.to_be_bytes());
        ifinfomsg.extend_from_slice(&[0; 8]);
        ifinfomsg.extend(be_tlv(3, b"be0\0"));
        ifinfomsg.extend(be_tlv(4, &1400u32.to_be_bytes()));
        let request = nlmsg(16, 0x605, &ifinfomsg);
        let mut error = (-17i32).to_be_bytes().to_vec();
        error.extend_from_slice(&request[..16]);
        let mut packet = request.clone();
        packet.extend(nlmsg(2, 0x100, &error));
        packet
    }

    #[test]
    fn a_big_endian_host_s_messages_in_its_byte_order() {
        let meta = PacketMeta {
            big_endian: true,
            ..route_meta()
        };
        let records = decode(&meta, &big_endian_packet());
        assert_eq!(records.len(), 2, "{records:?}");
        let (req, err) = (&records[0], &records[1]);
        assert_eq!((req.type_name.as_str(), req.seq), ("RTM_NEWLINK", 77));
        assert_eq!(req.flags, ["REQUEST", "ACK", "EXCL", "CREATE"]);
        let tree = req.decoded.as_ref().map(|d| serde_json::to_value(d).ok());
        let tree = tree.flatten().unwrap_or_default();
        assert_eq!(tree["fixed"]["ifi-index"], 9);
        assert_eq!(tree["attrs"][0]["value"], "be0");
        assert_eq!(tree["attrs"][1]["value"], 1400);
        let e = err.error.as_ref().map(|e| (e.name.as_str(), e.request_seq));
        assert_eq!(e, Some(("EEXIST", Some(77))));
        assert!(req.malformed.is_none() && err.malformed.is_none());
    }

    /// Decode with --hex; every record must be one the published schema allows.
    fn decode(meta: &PacketMeta, bytes: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        decode_packet(
            meta,
            bytes,
            &mut GenlNames::new(),
            Options {
                hex: true,
                tree: true,
            },
            &mut out,
        );
        out.iter().for_each(schema::assert_valid_record);
        out
    }

    #[test]
    fn time_format() {
        assert_eq!(iso_time(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(iso_time(1_700_000_000, 5), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(iso_time(951_782_400, 0), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn newlink_request_decoded() {
        let bytes = newlink_request();
        let records = decode(&route_meta(), &bytes);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.type_name, "RTM_NEWLINK");
        assert_eq!(r.family, "route");
        assert_eq!(r.dir, "to-kernel");
        assert_eq!(r.flags, vec!["REQUEST", "ACK", "EXCL", "CREATE"]);
        assert_eq!(r.seq, 1_700_000_000);
        assert_eq!(r.len as usize, bytes.len());
        let attrs = r.attrs.as_ref().map(|a| (a.ifname.clone(), a.kind.clone()));
        assert_eq!(attrs, Some((Some("dummy0".into()), Some("dummy".into()))));
        assert_eq!(r.malformed, None);
        assert_eq!(r.hex.as_deref(), Some(to_hex(&bytes).as_str()));
    }

    #[test]
    fn error_with_extack_and_ack() {
        let req = newlink_request();
        let bytes = [
            error_reply(-17, Some("File exists here"), &req),
            error_reply(0, None, &req),
        ]
        .concat();
        let meta = PacketMeta {
            pkttype: 6,
            ..route_meta()
        };
        let records = decode(&meta, &bytes);
        assert_eq!(records.len(), 2);
        let e = records[0].error.clone().unwrap_or_default();
        assert_eq!(records[0].type_name, "NLMSG_ERROR");
        assert_eq!(records[0].dir, "to-user");
        assert_eq!(records[0].flags, vec!["CAPPED", "ACK_TLVS"]);
        assert_eq!(e.errno, 17);
        assert_eq!(e.name, "EEXIST");
        assert_eq!(e.extack.as_deref(), Some("File exists here"));
        assert_eq!(e.request_type.as_deref(), Some("RTM_NEWLINK"));
        assert_eq!(e.request_type_id, Some(16));
        assert_eq!(e.request_len, u32::try_from(req.len()).ok());
        assert_eq!(
            e.request_flags_raw,
            Some(u16::from_ne_bytes([req[6], req[7]]))
        );
        assert_eq!(
            records[1].error.as_ref().map(|e| e.name.as_str()),
            Some("ACK")
        );
        assert_eq!(records[1].port, 4242);
    }

    #[test]
    fn genl_names_learnt_from_newfamily() {
        // CTRL_CMD_NEWFAMILY: id 0x1a = "wireguard"
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&[6, 0, 1, 0, 0x1a, 0, 0, 0]);
        attrs.extend_from_slice(&[14, 0, 2, 0]);
        attrs.extend_from_slice(b"wireguard\0");
        attrs.extend_from_slice(&[0, 0]);
        let mut m = Vec::new();
        let len = 16 + 4 + attrs.len();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&16u16.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&9u32.to_ne_bytes());
        m.extend_from_slice(&77u32.to_ne_bytes());
        m.extend_from_slice(&[1, 2, 0, 0]);
        m.extend_from_slice(&attrs);
        let mut genl = GenlNames::new();
        let mut out = Vec::new();
        let meta = PacketMeta {
            family: 16,
            ..route_meta()
        };
        decode_packet(&meta, &m, &mut genl, Options::default(), &mut out);
        out.iter().for_each(schema::assert_valid_record);
        assert_eq!(out[0].type_name, "nlctrl");
        assert_eq!(
            out[0].genl.as_ref().and_then(|g| g.cmd_name),
            Some("CTRL_CMD_NEWFAMILY")
        );
        assert_eq!(genl.get(0x1a), Some("wireguard"));
        // a later message of that family is named
        let mut w = m.clone();
        w[4..6].copy_from_slice(&0x1au16.to_ne_bytes());
        out.clear();
        decode_packet(&meta, &w, &mut genl, Options::default(), &mut out);
        assert_eq!(out[0].type_name, "wireguard");
    }

    #[test]
    fn malformed_inputs() {
        let meta = route_meta();
        // empty packet: nothing
        assert!(decode(&meta, &[]).is_empty());
        // too short
        let r = decode(&meta, &[1, 2, 3]);
        assert_eq!(r.len(), 1);
        assert!(r[0].malformed.as_deref().unwrap_or("").contains("shorter"));
        // length below header
        let mut bad = newlink_request();
        bad[0..4].copy_from_slice(&8u32.to_ne_bytes());
        let r = decode(&meta, &bad);
        assert_eq!(r[0].type_name, "MALFORMED");
        // oversized length
        let mut big = newlink_request();
        big[0..4].copy_from_slice(&100_000u32.to_ne_bytes());
        let r = decode(&meta, &big);
        assert!(r[0].malformed.as_deref().unwrap_or("").contains("exceeds"));
        // zero padding after the last message (iproute2's dump requests) is no message
        let padded = [newlink_request(), vec![0u8; 128]].concat();
        let r = decode(&meta, &padded);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].malformed, None);
        // non-zero trailing bytes are reported
        let mut trailing = padded.clone();
        if let Some(b) = trailing.last_mut() {
            *b = 1;
        }
        let r = decode(&meta, &trailing);
        assert_eq!(r.len(), 2);
        assert!(r[1].malformed.is_some());
        // truncated attributes: framing fine, payload broken
        let mut trunc = newlink_request();
        trunc.truncate(36);
        trunc[0..4].copy_from_slice(&36u32.to_ne_bytes());
        let r = decode(&meta, &trunc);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].type_name, "RTM_NEWLINK");
    }

    /// Issue #9 defect 1: a proc connector event (NLMSG_DONE + cn_msg) is no error.
    #[test]
    fn connector_proc_event_is_not_an_error() {
        let bytes = connector::tests::proc_message(libc::PROC_EVENT_FORK, &[10, 10, 20, 21], 3);
        let meta = PacketMeta {
            family: NETLINK_CONNECTOR,
            ..route_meta()
        };
        let r = decode(&meta, &bytes);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].family, "connector");
        assert!(r[0].error.is_none(), "{:?}", r[0].error);
        assert_eq!(r[0].malformed, None);
        let json = serde_json::to_value(&r[0]).unwrap_or_default();
        assert_eq!(json["connector"]["idx"], 1);
        assert_eq!(json["connector"]["name"], "proc");
        assert_eq!(json["connector"]["proc_event"]["what"], "fork");
        assert_eq!(json["connector"]["proc_event"]["fields"]["child_tgid"], 21);
        // a cn_msg cut short is malformed, not an errno
        let mut short = bytes[..16 + 10].to_vec();
        short[0..4].copy_from_slice(&26u32.to_ne_bytes());
        let r = decode(&meta, &short);
        assert!(r[0].error.is_none());
        assert!(r[0].malformed.as_deref().unwrap_or("").contains("cn_msg"));
    }

    #[test]
    fn uevent_and_audit_say_what_they_are() {
        let meta = PacketMeta {
            family: NETLINK_KOBJECT_UEVENT,
            ..route_meta()
        };
        let r = decode(
            &meta,
            b"add@/devices/virtual/net/dm0\0ACTION=add\0SUBSYSTEM=net\0",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].type_name, "UEVENT");
        assert_eq!(
            r[0].uevent.as_deref(),
            Some(
                &[
                    "add@/devices/virtual/net/dm0".to_string(),
                    "ACTION=add".into(),
                    "SUBSYSTEM=net".into()
                ][..]
            )
        );
        let r = decode(&meta, b"libudev\0\xfe\xed\xca\xfe");
        assert!(r[0].not_decoded.is_some());
        // AUDIT_GET (1000) request
        let mut audit = newlink_request();
        audit[4..6].copy_from_slice(&1000u16.to_ne_bytes());
        let meta = PacketMeta {
            family: NETLINK_AUDIT,
            ..route_meta()
        };
        let r = decode(&meta, &audit);
        assert_eq!((r[0].error.clone(), r[0].malformed.clone()), (None, None));
        assert!(r[0]
            .not_decoded
            .as_deref()
            .unwrap_or("")
            .contains("not decoded"));
    }

    /// Issue #9 defect 2: an offline decoder names families from the file's own nlctrl
    /// traffic only, and says so.
    #[test]
    fn genl_name_sources() {
        let mut genl = GenlNames::offline();
        let meta = PacketMeta {
            family: NETLINK_GENERIC,
            ..route_meta()
        };
        let mut unknown = newlink_request();
        unknown[4..6].copy_from_slice(&0x1cu16.to_ne_bytes());
        let mut out = Vec::new();
        decode_packet(&meta, &unknown, &mut genl, Options::default(), &mut out);
        out.iter().for_each(schema::assert_valid_record);
        assert_eq!(out[0].type_name, "GENL_ID_28");
        assert_eq!(out[0].family_source, Some("unknown"));
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&[6, 0, 1, 0, 0x1c, 0, 0, 0]);
        attrs.extend_from_slice(&[13, 0, 2, 0]);
        attrs.extend_from_slice(b"mptcp_pm\0");
        attrs.extend_from_slice(&[0, 0, 0]);
        let mut m = Vec::new();
        m.extend_from_slice(&((20 + attrs.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&16u16.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(&[1, 2, 0, 0]);
        m.extend_from_slice(&attrs);
        out.clear();
        decode_packet(&meta, &m, &mut genl, Options::default(), &mut out);
        out.iter().for_each(schema::assert_valid_record);
        assert_eq!(out[0].family_source, Some("fixed"));
        let json = serde_json::to_value(&out[0]).unwrap_or_default();
        assert_eq!(json["attrs"]["ctrl_family_id"], 0x1c);
        assert_eq!(json["attrs"]["ctrl_family_name"], "mptcp_pm");
        assert!(json["attrs"].get("family_id").is_none());
        out.clear();
        decode_packet(&meta, &unknown, &mut genl, Options::default(), &mut out);
        assert_eq!(out[0].type_name, "mptcp_pm");
        assert_eq!(out[0].family_source, Some("file"));
        let mut live = GenlNames::new();
        live.insert(0x1c, "wireguard".into());
        out.clear();
        decode_packet(&meta, &unknown, &mut live, Options::default(), &mut out);
        assert_eq!(
            (out[0].type_name.as_str(), out[0].family_source),
            ("wireguard", Some("kernel"))
        );
    }

    /// Issue #9 defect 3: warnings on ACK and DONE, every extended-ACK attribute, OFFS named.
    #[test]
    fn extended_ack_in_full() {
        // RTM_NEWLINK with IFLA_IFNAME then IFLA_LINKINFO { IFLA_INFO_KIND }; echoed whole.
        let req = newlink_request();
        let kind_offset = 16 + 16 + 12 + 4; // nested IFLA_INFO_KIND
        let mut tlvs = tlv(1, b"Unknown device type\0");
        tlvs.extend(tlv(2, &(kind_offset as u32).to_ne_bytes()));
        tlvs.extend(tlv(3, &[1, 2, 3]));
        tlvs.extend(tlv(
            5,
            &libc::IFLA_ADDRESS
                .to_ne_bytes()
                .iter()
                .chain(&[0, 0])
                .copied()
                .collect::<Vec<u8>>(),
        ));
        tlvs.extend(tlv(6, &32u32.to_ne_bytes()));
        // the policy: type u16 (3), and a u64 max past i64 (a u64 policy's U64_MAX)
        let mut policy_attrs = tlv(1, &3u32.to_ne_bytes());
        policy_attrs.extend(tlv(5, &u64::MAX.to_ne_bytes()));
        tlvs.extend(tlv(0x8004, &policy_attrs));
        let mut padded = req.clone();
        while !padded.len().is_multiple_of(4) {
            padded.push(0);
        }
        let body = [(-95i32).to_ne_bytes().to_vec(), padded, tlvs].concat();
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&0x200u16.to_ne_bytes()); // ACK_TLVS, not CAPPED
        m.extend_from_slice(&[0u8; 8]);
        m.extend_from_slice(&body);
        let r = decode(&route_meta(), &m);
        let e = r[0].error.clone().unwrap_or_default();
        assert_eq!(e.extack.as_deref(), Some("Unknown device type"));
        // named from the rt-link spec, nested ones too
        assert_eq!(
            e.extack_attr.as_deref(),
            Some("IFLA_LINKINFO/IFLA_INFO_KIND")
        );
        assert_eq!(e.extack_cookie.as_deref(), Some("010203"));
        assert_eq!(
            (e.extack_miss_type, e.extack_miss_nest),
            (Some(1), Some(32))
        );
        let policy = e.extack_policy.unwrap_or_default();
        assert_eq!(policy.get("type"), Some(&serde_json::Value::from("u16")));
        assert_eq!(
            policy.get("max_value_u"),
            Some(&serde_json::Value::from(u64::MAX))
        );
        let genl = GenlNames::new();
        assert_eq!(attr_at(0, &req, 32, &genl).as_deref(), Some("IFLA_IFNAME"));
        assert_eq!(attr_at(0, &req, 33, &genl), None);

        // a successful ACK with a warning
        let mut ok = error_reply(0, Some("failed to retrieve link settings"), &req);
        let r = decode(&route_meta(), &ok);
        let e = r[0].error.clone().unwrap_or_default();
        assert_eq!(
            (e.name.as_str(), e.extack.as_deref()),
            ("ACK", Some("failed to retrieve link settings"))
        );
        // NLMSG_DONE, errno 0, with a warning: named DONE, never ACK
        ok.truncate(0);
        let warn = tlv(1, b"dump interrupted\0");
        ok.extend_from_slice(&((20 + warn.len()) as u32).to_ne_bytes());
        ok.extend_from_slice(&3u16.to_ne_bytes());
        ok.extend_from_slice(&0x202u16.to_ne_bytes());
        ok.extend_from_slice(&[0u8; 8]);
        ok.extend_from_slice(&0i32.to_ne_bytes());
        ok.extend_from_slice(&warn);
        let r = decode(&route_meta(), &ok);
        let e = r[0].error.clone().unwrap_or_default();
        assert_eq!(
            (e.name.as_str(), e.extack.as_deref()),
            ("DONE", Some("dump interrupted"))
        );
    }

    /// Issue #9 defect 5: a message cut by a snap length is decoded as far as it goes.
    #[test]
    fn snaplen_cut_message_is_marked_truncated() {
        let req = newlink_request();
        let meta = PacketMeta {
            truncated: true,
            ..route_meta()
        };
        let r = decode(&meta, &req[..48]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].type_name, "RTM_NEWLINK");
        assert!(r[0].truncated);
        assert_eq!(r[0].malformed, None);
        let ifname = r[0].attrs.as_ref().and_then(|a| a.ifname.clone());
        assert_eq!(ifname.as_deref(), Some("dummy0"));
        // the same bytes without the mark are malformed
        let r = decode(&route_meta(), &req[..48]);
        assert_eq!(r[0].type_name, "MALFORMED");
    }

    /// Records of every kind, serialized as `capture --json --hex` prints them, match the published
    /// schema; and every optional key of the record is among them (the check covers them all).
    #[test]
    fn records_of_every_kind_match_the_schema() {
        let req = newlink_request();
        let mut genl_msg = req.clone();
        genl_msg[4..6].copy_from_slice(&0x1cu16.to_ne_bytes());
        let mut audit = req.clone();
        audit[4..6].copy_from_slice(&1000u16.to_ne_bytes());
        let cases: Vec<(u16, bool, Vec<u8>)> = vec![
            (NETLINK_ROUTE, false, req.clone()),
            (NETLINK_ROUTE, true, req[..48].to_vec()),
            (NETLINK_ROUTE, false, error_reply(-17, Some("exists"), &req)),
            (NETLINK_ROUTE, false, error_reply(0, None, &req)),
            (NETLINK_ROUTE, false, vec![1, 2, 3]),
            (NETLINK_GENERIC, false, genl_msg),
            (NETLINK_AUDIT, false, audit),
            (
                NETLINK_CONNECTOR,
                false,
                connector::tests::proc_message(libc::PROC_EVENT_FORK, &[10, 10, 20, 21], 3),
            ),
            (
                NETLINK_KOBJECT_UEVENT,
                false,
                b"add@/x\0ACTION=add\0".to_vec(),
            ),
        ];
        let mut keys = std::collections::BTreeSet::new();
        for (family, truncated, bytes) in cases {
            let meta = PacketMeta {
                family,
                truncated,
                ..route_meta()
            };
            // decode() validates each record against the schema
            for r in decode(&meta, &bytes) {
                let json = serde_json::to_value(&r).unwrap_or_default();
                keys.extend(json.as_object().into_iter().flat_map(|o| o.keys().cloned()));
            }
        }
        let optional = [
            "family_source",
            "genl",
            "error",
            "connector",
            "uevent",
            "not_decoded",
            "attrs",
            "malformed",
            "truncated",
            "hex",
        ];
        for key in optional {
            assert!(keys.contains(key), "no record carried {key}: {keys:?}");
        }
    }

    /// A seeded xorshift: reproducible "random" inputs without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Property: any bytes, any family → no panic; every byte is accounted for by a record,
    /// and a malformed packet always ends in a record that says so.
    #[test]
    fn fuzz_mutated_fixtures_never_panic() {
        let req = newlink_request();
        let fixtures = [
            req.clone(),
            error_reply(-22, Some("mtu less than device minimum."), &req),
            error_reply(0, None, &req),
            [req.clone(), error_reply(0, None, &req)].concat(),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut cases = 0u64;
        while std::time::Instant::now() < deadline || cases < 20_000 {
            let base = &fixtures[rng.below(fixtures.len())];
            let mut bytes = base.clone();
            match rng.below(5) {
                0 => {
                    let cut = rng.below(bytes.len() + 1);
                    bytes.truncate(cut);
                }
                1 => {
                    for _ in 0..=rng.below(8) {
                        let at = rng.below(bytes.len());
                        if let Some(b) = bytes.get_mut(at) {
                            *b = rng.next() as u8;
                        }
                    }
                }
                2 => {
                    let extra = rng.below(64);
                    bytes.extend((0..extra).map(|_| rng.next() as u8));
                }
                3 => {
                    bytes = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                }
                _ => {
                    let at = rng.below(bytes.len().saturating_sub(3)).min(bytes.len());
                    let v = rng.next() as u32;
                    if let Some(slot) = bytes.get_mut(at..at + 4) {
                        slot.copy_from_slice(&v.to_ne_bytes());
                    }
                }
            }
            let family = [0u16, 4, 6, 12, 16, 99][rng.below(6)];
            let meta = PacketMeta {
                family,
                ..route_meta()
            };
            let records = decode(&meta, &bytes);
            let framing = split(&bytes, false, |_, _| {});
            if framing.is_err() {
                let last = records.last().map(|r| r.malformed.is_some());
                assert_eq!(last, Some(true), "{}", to_hex(&bytes));
            }
            for r in &records {
                assert!(serde_json::to_string(r).is_ok());
            }
            cases += 1;
        }
        assert!(cases >= 20_000);
    }
}
