//! NETLINK_SOCK_DIAG (what `ss` uses) has no kernel YNL spec, so its messages are decoded here,
//! by hand, into the same tree as the spec-driven ones (`ynl::Decoded`): the record's JSON, the
//! `-v` printer and the schema need nothing of their own. Names follow the YNL convention (C
//! names without their prefix, lower case, `-` for `_`), as a spec of this family would have them.
//!
//! Numbers come from libc where it has them; what it lacks is spelled out once below, each with
//! the uapi header it comes from. Everything is bounds-checked: a struct is decoded as far as its
//! bytes go, a value of the wrong size is shown as bytes with an `error`.

use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::decode::to_hex;
use super::names;
use super::ynl::{self, Decoded, Node};
use crate::netlink::consts::{NLA_F_NET_BYTEORDER, NLA_TYPE_MASK};

/// Nested attributes deeper than this are shown as bytes (only ULP_INFO and SK_BPF_STORAGES nest).
const MAX_DEPTH: usize = 8;

/// The TCP states (include/net/tcp_states.h; libc has no TCP_ESTABLISHED…): `idiag_state`, the
/// bits of `idiag_states`, and AF_UNIX's `udiag_state`, which reuses them.
const TCP_STATES: &[(u64, &str)] = &[
    (1, "established"),
    (2, "syn-sent"),
    (3, "syn-recv"),
    (4, "fin-wait1"),
    (5, "fin-wait2"),
    (6, "time-wait"),
    (7, "close"),
    (8, "close-wait"),
    (9, "last-ack"),
    (10, "listen"),
    (11, "closing"),
    (12, "new-syn-recv"),
    (13, "bound-inactive"),
];

/// INET_DIAG_* of an answer (linux/inet_diag.h; libc has none). Bit `type - 1` of a request's
/// `idiag_ext` asks for attribute `type`, so this table names those bits too.
const INET_DIAG: &[(u16, &str)] = &[
    (0, "none"),
    (1, "meminfo"),
    (2, "info"),
    (3, "vegasinfo"),
    (4, "cong"),
    (5, "tos"),
    (6, "tclass"),
    (7, "skmeminfo"),
    (8, "shutdown"),
    (9, "dctcpinfo"),
    (10, "protocol"),
    (11, "skv6only"),
    (12, "locals"),
    (13, "peers"),
    (14, "pad"),
    (15, "mark"),
    (16, "bbrinfo"),
    (17, "class-id"),
    (18, "md5sig"),
    (19, "ulp-info"),
    (20, "sk-bpf-storages"),
    (21, "cgroup-id"),
    (22, "sockopt"),
];

/// INET_DIAG_REQ_* of a request (linux/inet_diag.h).
const INET_DIAG_REQ: &[(u16, &str)] = &[
    (0, "none"),
    (1, "bytecode"),
    (2, "sk-bpf-storages"),
    (3, "protocol"),
];

/// UNIX_DIAG_* (linux/unix_diag.h; libc has none).
const UNIX_DIAG: &[(u16, &str)] = &[
    (0, "name"),
    (1, "vfs"),
    (2, "peer"),
    (3, "icons"),
    (4, "rqlen"),
    (5, "meminfo"),
    (6, "shutdown"),
    (7, "uid"),
];

/// UDIAG_SHOW_* bits of `udiag_show` (linux/unix_diag.h): not the attribute numbers (no bit
/// asks for UNIX_DIAG_SHUTDOWN, which always comes).
const UDIAG_SHOW: &[(u64, &str)] = &[
    (0, "name"),
    (1, "vfs"),
    (2, "peer"),
    (3, "icons"),
    (4, "rqlen"),
    (5, "meminfo"),
    (6, "uid"),
];

/// INET_ULP_INFO_* inside INET_DIAG_ULP_INFO (linux/inet_diag.h).
const INET_ULP_INFO: &[(u16, &str)] = &[(0, "unspec"), (1, "name"), (2, "tls"), (3, "mptcp")];

/// SK_DIAG_BPF_STORAGE_REP_* and SK_DIAG_BPF_STORAGE_* (linux/sock_diag.h).
const BPF_STORAGES: &[(u16, &str)] = &[(0, "none"), (1, "sk-diag-bpf-storage")];
const BPF_STORAGE: &[(u16, &str)] = &[(0, "none"), (1, "pad"), (2, "map-id"), (3, "map-value")];

/// The bits of struct inet_diag_sockopt (linux/inet_diag.h), in declaration order.
const SOCKOPT_BITS: &[&str] = &[
    "recverr",
    "is-icsk",
    "freebind",
    "hdrincl",
    "mc-loop",
    "transparent",
    "mc-all",
    "nodefrag",
    "bind-address-no-port",
    "recverr-rfc4884",
    "defer-connect",
];

/// The u32 slots of INET_DIAG_SKMEMINFO and UNIX_DIAG_MEMINFO, by libc's SK_MEMINFO_* numbers.
const SK_MEMINFO: &[(libc::c_int, &str)] = &[
    (libc::SK_MEMINFO_RMEM_ALLOC, "rmem-alloc"),
    (libc::SK_MEMINFO_RCVBUF, "rcvbuf"),
    (libc::SK_MEMINFO_WMEM_ALLOC, "wmem-alloc"),
    (libc::SK_MEMINFO_SNDBUF, "sndbuf"),
    (libc::SK_MEMINFO_FWD_ALLOC, "fwd-alloc"),
    (libc::SK_MEMINFO_WMEM_QUEUED, "wmem-queued"),
    (libc::SK_MEMINFO_OPTMEM, "optmem"),
    (libc::SK_MEMINFO_BACKLOG, "backlog"),
    (libc::SK_MEMINFO_DROPS, "drops"),
];

/// One member of a fixed struct.
#[derive(Clone, Copy)]
enum M {
    /// An integer of this many bytes in host order.
    Int(&'static str, usize),
    /// An integer whose value is a TCP state name.
    State(&'static str, usize),
    /// A u32 bitmask of TCP states (bit N: state N).
    States(&'static str),
    /// A u8 bitmask of INET_DIAG attributes asked for (bit N: attribute N + 1).
    Ext(&'static str),
    /// A u32 bitmask of UDIAG_SHOW_* bits.
    Show(&'static str),
    /// An AF_UNIX socket type (SOCK_STREAM…).
    SockType(&'static str, usize),
    /// struct inet_diag_sockid.
    SockId(&'static str),
    /// `__u32 cookie[2]`: the kernel's 64-bit socket cookie, low half first.
    Cookie(&'static str),
    /// Bytes not shown (padding).
    Pad(usize),
}

impl M {
    fn size(self) -> usize {
        match self {
            M::Int(_, n) | M::State(_, n) | M::SockType(_, n) | M::Pad(n) => n,
            M::States(_) | M::Show(_) => 4,
            M::Ext(_) => 1,
            M::Cookie(_) => 8,
            // __be16 sport, dport; __be32 src[4], dst[4]; __u32 if; __u32 cookie[2].
            M::SockId(_) => 48,
        }
    }
}

/// struct inet_diag_req_v2 (linux/inet_diag.h), also SOCK_DESTROY's.
const INET_DIAG_REQ_V2: &[M] = &[
    M::Int("sdiag-family", 1),
    M::Int("sdiag-protocol", 1),
    M::Ext("idiag-ext"),
    // `pad`, which carries the protocol of a SOCK_RAW dump (struct inet_diag_req_raw)
    M::Int("sdiag-raw-protocol", 1),
    M::States("idiag-states"),
    M::SockId("id"),
];

/// struct inet_diag_req (linux/inet_diag.h): TCPDIAG_GETSOCK and DCCPDIAG_GETSOCK, before v2.
const INET_DIAG_REQ_V1: &[M] = &[
    M::Int("idiag-family", 1),
    M::Int("idiag-src-len", 1),
    M::Int("idiag-dst-len", 1),
    M::Ext("idiag-ext"),
    M::SockId("id"),
    M::States("idiag-states"),
    M::Int("idiag-dbs", 4),
];

/// struct inet_diag_msg (linux/inet_diag.h).
const INET_DIAG_MSG: &[M] = &[
    M::Int("idiag-family", 1),
    M::State("idiag-state", 1),
    M::Int("idiag-timer", 1),
    M::Int("idiag-retrans", 1),
    M::SockId("id"),
    M::Int("idiag-expires", 4),
    M::Int("idiag-rqueue", 4),
    M::Int("idiag-wqueue", 4),
    M::Int("idiag-uid", 4),
    M::Int("idiag-inode", 4),
];

/// struct unix_diag_req (linux/unix_diag.h).
const UNIX_DIAG_REQ: &[M] = &[
    M::Int("sdiag-family", 1),
    M::Int("sdiag-protocol", 1),
    M::Pad(2),
    M::States("udiag-states"),
    M::Int("udiag-ino", 4),
    M::Show("udiag-show"),
    M::Cookie("udiag-cookie"),
];

/// struct unix_diag_msg (linux/unix_diag.h).
const UNIX_DIAG_MSG: &[M] = &[
    M::Int("udiag-family", 1),
    M::SockType("udiag-type", 1),
    M::State("udiag-state", 1),
    M::Pad(1),
    M::Int("udiag-ino", 4),
    M::Cookie("udiag-cookie"),
];

/// Families whose sock_diag messages are decoded beyond their first bytes.
const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;
const AF_UNIX: u8 = libc::AF_UNIX as u8;

/// A sock_diag message's tree; None for a message type `names` does not know.
pub fn decode(msg_type: u16, request: bool, payload: &[u8], big_endian: bool) -> Option<Decoded> {
    let op = names::sock_diag_type(msg_type)?;
    let d = Dec { big_endian };
    let family = payload.first().copied();
    let (header, set): (&[M], Set) = match (op, request, family) {
        ("TCPDIAG_GETSOCK" | "DCCPDIAG_GETSOCK", true, _) => (INET_DIAG_REQ_V1, Set::InetReq),
        (_, true, Some(AF_UNIX)) => (UNIX_DIAG_REQ, Set::Unknown),
        (_, true, Some(AF_INET | AF_INET6)) => (INET_DIAG_REQ_V2, Set::InetReq),
        (_, false, Some(AF_UNIX)) => (UNIX_DIAG_MSG, Set::Unix),
        (_, false, Some(AF_INET | AF_INET6)) => (INET_DIAG_MSG, Set::Inet),
        // Another family (netlink, packet, vsock…): the two bytes every request and answer
        // starts with, then bytes.
        _ => {
            let common = [M::Int("sdiag-family", 1), M::Int("sdiag-protocol", 1)];
            let (fixed, used) = d.structure(&common, payload, AF_INET);
            let rest = payload.get(used..).unwrap_or(&[]);
            let attrs = if rest.is_empty() {
                Vec::new()
            } else {
                vec![Node {
                    name: "data".into(),
                    hex: Some(to_hex(rest)),
                    ..Node::default()
                }]
            };
            return Some(Decoded {
                spec: "sock_diag",
                op: Some(op),
                fixed: Some(fixed),
                attrs,
            });
        }
    };
    let (fixed, _) = d.structure(header, payload, family.unwrap_or(0));
    let size = header.iter().map(|m| m.size()).sum::<usize>();
    let rest = payload.get(ynl::align4(size)..).unwrap_or(&[]);
    let attrs = d.attrs(set, rest, 0);
    Some(Decoded {
        spec: "sock_diag",
        op: Some(op),
        fixed: Some(fixed),
        attrs,
    })
}

/// Which attributes a walk meets (what their values are).
#[derive(Clone, Copy, PartialEq)]
enum Set {
    Inet,
    InetReq,
    Unix,
    UlpInfo,
    BpfStorages,
    BpfStorage,
    Unknown,
}

impl Set {
    /// The attribute names of the set.
    fn table(self) -> &'static [(u16, &'static str)] {
        match self {
            Set::Inet => INET_DIAG,
            Set::InetReq => INET_DIAG_REQ,
            Set::Unix => UNIX_DIAG,
            Set::UlpInfo => INET_ULP_INFO,
            Set::BpfStorages => BPF_STORAGES,
            Set::BpfStorage => BPF_STORAGE,
            Set::Unknown => &[],
        }
    }
}

fn lookup<K: PartialEq + Copy>(table: &[(K, &'static str)], key: K) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
}

/// Names of the set bits of `v` (bit `b` named by `table`), unknown bits as one hex number.
fn bit_names(v: u64, table: &[(u64, &str)], bit_of: impl Fn(u64) -> u64) -> Value {
    let mut names = Vec::new();
    let mut left = v;
    for (n, name) in table {
        let bit = bit_of(*n);
        if bit < 64 && v & (1 << bit) != 0 {
            names.push(Value::String((*name).to_string()));
            left &= !(1 << bit);
        }
    }
    if left != 0 {
        names.push(Value::String(format!("{left:#x}")));
    }
    Value::Array(names)
}

fn state(v: u64) -> Value {
    match lookup(TCP_STATES, v) {
        Some(name) => Value::String(name.into()),
        None => Value::from(v),
    }
}

fn sock_type(v: u64) -> Value {
    let name = match v as libc::c_int {
        libc::SOCK_STREAM => "stream",
        libc::SOCK_DGRAM => "dgram",
        libc::SOCK_SEQPACKET => "seqpacket",
        _ => return Value::from(v),
    };
    Value::String(name.into())
}

struct Dec {
    /// The capturing host's byte order (netlink integers are in host order).
    big_endian: bool,
}

impl Dec {
    fn uint(&self, bytes: &[u8]) -> u64 {
        ynl::read_uint(bytes, self.big_endian)
    }

    /// A struct's members as far as `bytes` go, and how many bytes they took.
    fn structure(&self, members: &[M], bytes: &[u8], family: u8) -> (Map<String, Value>, usize) {
        let mut map = Map::new();
        let mut pos = 0usize;
        for m in members {
            let Some(part) = bytes.get(pos..pos + m.size()) else {
                break;
            };
            pos += m.size();
            let (name, value) = match *m {
                M::Pad(_) => continue,
                M::Int(name, _) => (name, Value::from(self.uint(part))),
                M::State(name, _) => (name, state(self.uint(part))),
                M::SockType(name, _) => (name, sock_type(self.uint(part))),
                M::States(name) => (name, bit_names(self.uint(part), TCP_STATES, |s| s)),
                M::Show(name) => (name, bit_names(self.uint(part), UDIAG_SHOW, |b| b)),
                M::Ext(name) => {
                    let v = self.uint(part);
                    let asked: Vec<(u64, &str)> =
                        INET_DIAG.iter().map(|(t, n)| (u64::from(*t), *n)).collect();
                    (name, bit_names(v, &asked, |t| t.wrapping_sub(1)))
                }
                M::SockId(name) => (name, Value::Object(self.sockid(part, family))),
                M::Cookie(name) => (name, Value::from(self.cookie(part))),
            };
            map.insert(name.into(), value);
        }
        (map, pos)
    }

    /// struct inet_diag_sockid: ports and addresses in network order, the rest in host order.
    fn sockid(&self, b: &[u8], family: u8) -> Map<String, Value> {
        let mut map = Map::new();
        let port = |at: usize| b.get(at..at + 2).map(|p| u16::from_be_bytes([p[0], p[1]]));
        let addr = |at: usize| -> Option<String> {
            let bytes: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
            Some(if family == AF_INET {
                Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()
            } else {
                Ipv6Addr::from(bytes).to_string()
            })
        };
        if let (Some(sport), Some(dport)) = (port(0), port(2)) {
            map.insert("idiag-sport".into(), Value::from(sport));
            map.insert("idiag-dport".into(), Value::from(dport));
        }
        if let (Some(src), Some(dst)) = (addr(4), addr(20)) {
            map.insert("idiag-src".into(), Value::String(src));
            map.insert("idiag-dst".into(), Value::String(dst));
        }
        if let Some(ifindex) = b.get(36..40) {
            map.insert("idiag-if".into(), Value::from(self.uint(ifindex)));
        }
        if let Some(cookie) = b.get(40..48) {
            map.insert("idiag-cookie".into(), Value::from(self.cookie(cookie)));
        }
        map
    }

    /// `__u32 cookie[2]`, low half first (as ss reads it), each half in host order.
    fn cookie(&self, b: &[u8]) -> u64 {
        let half = |at: usize| b.get(at..at + 4).map_or(0, |h| self.uint(h));
        half(0) | (half(4) << 32)
    }

    /// The attributes of `set` in `bytes` (the walk is the spec-driven tree's).
    fn attrs(&self, set: Set, bytes: &[u8], depth: usize) -> Vec<Node> {
        ynl::walk_attributes(bytes, self.big_endian, |raw_type, value, siblings| {
            let type_id = raw_type & NLA_TYPE_MASK;
            match lookup(set.table(), type_id) {
                Some(name) => {
                    let mut node = Node {
                        name: name.into(),
                        type_id,
                        ..Node::default()
                    };
                    let net_order = raw_type & NLA_F_NET_BYTEORDER != 0;
                    self.value(set, name, value, net_order, siblings, depth, &mut node);
                    node
                }
                None => Node::unknown(type_id, value),
            }
        })
    }

    /// The value of attribute `name` of `set` into `node`.
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        set: Set,
        name: &str,
        v: &[u8],
        net_order: bool,
        siblings: &[Node],
        depth: usize,
        node: &mut Node,
    ) {
        let nest = |inner: Set, node: &mut Node| {
            if depth + 1 >= MAX_DEPTH {
                node.hex = Some(to_hex(v));
                node.error = Some(format!("nested deeper than {MAX_DEPTH} levels"));
            } else {
                node.attrs = Some(self.attrs(inner, v, depth + 1));
            }
        };
        match (set, name) {
            (Set::Inet, "meminfo") => {
                // struct inet_diag_meminfo (linux/inet_diag.h).
                let m = ["idiag-rmem", "idiag-wmem", "idiag-fmem", "idiag-tmem"];
                self.u32s(&m, v, node)
            }
            (Set::Inet, "info") => {
                // struct tcp_info, unless the answer says it is another protocol's (SCTP, MPTCP).
                let protocol = siblings
                    .iter()
                    .find(|n| n.name == "protocol")
                    .and_then(|n| n.value.as_ref())
                    .and_then(Value::as_u64);
                match protocol {
                    None | Some(6) => self.tcp_info(v, node),
                    Some(_) => node.hex = Some(to_hex(v)),
                }
            }
            (Set::Inet, "vegasinfo") => {
                // struct tcpvegas_info (linux/inet_diag.h).
                let m = ["tcpv-enabled", "tcpv-rttcnt", "tcpv-rtt", "tcpv-minrtt"];
                self.u32s(&m, v, node)
            }
            (Set::Inet, "dctcpinfo") => {
                // struct tcp_dctcp_info (linux/inet_diag.h).
                let m = [
                    M::Int("dctcp-enabled", 2),
                    M::Int("dctcp-ce-state", 2),
                    M::Int("dctcp-alpha", 4),
                    M::Int("dctcp-ab-ecn", 4),
                    M::Int("dctcp-ab-tot", 4),
                ];
                self.fixed(&m, v, node)
            }
            (Set::Inet, "bbrinfo") => {
                // struct tcp_bbr_info (linux/inet_diag.h).
                let m = [
                    "bbr-bw-lo",
                    "bbr-bw-hi",
                    "bbr-min-rtt",
                    "bbr-pacing-gain",
                    "bbr-cwnd-gain",
                ];
                self.u32s(&m, v, node)
            }
            (Set::Inet | Set::UlpInfo, "cong" | "name") => self.string(v, node),
            (Set::Inet, "tos" | "tclass" | "shutdown" | "protocol" | "skv6only") => {
                self.int(1, v, false, node)
            }
            (Set::Inet, "mark" | "class-id") | (Set::InetReq, "protocol") => {
                self.int(4, v, net_order, node)
            }
            (Set::Inet, "cgroup-id") => self.int(8, v, net_order, node),
            (Set::Inet, "skmeminfo") | (Set::Unix, "meminfo") => self.sk_meminfo(v, node),
            (Set::Inet, "locals" | "peers") => self.sockaddrs(v, node),
            (Set::Inet, "sockopt") => self.sockopt(v, node),
            (Set::Inet, "ulp-info") => nest(Set::UlpInfo, node),
            (Set::Inet | Set::InetReq, "sk-bpf-storages") => nest(Set::BpfStorages, node),
            (Set::BpfStorages, "sk-diag-bpf-storage") => nest(Set::BpfStorage, node),
            (Set::BpfStorage, "map-id") => self.int(4, v, net_order, node),
            (Set::Unix, "name") => {
                // sun_path: an abstract name starts with a NUL, shown as `@` (as ss does).
                let text = match v.split_first() {
                    Some((0, rest)) => format!("@{}", String::from_utf8_lossy(rest)),
                    _ => String::from_utf8_lossy(v.strip_suffix(&[0]).unwrap_or(v)).into_owned(),
                };
                node.value = Some(Value::String(text));
            }
            (Set::Unix, "vfs") => self.u32s(&["udiag-vfs-ino", "udiag-vfs-dev"], v, node),
            (Set::Unix, "rqlen") => self.u32s(&["udiag-rqueue", "udiag-wqueue"], v, node),
            (Set::Unix, "peer" | "uid") => self.int(4, v, false, node),
            (Set::Unix, "shutdown") => self.int(1, v, false, node),
            (Set::Unix, "icons") => {
                // The inodes of the sockets waiting on a listener: a u32 array.
                if v.len().is_multiple_of(4) {
                    let items = v.chunks(4).map(|c| Value::from(self.uint(c))).collect();
                    node.value = Some(Value::Array(items));
                } else {
                    self.wrong_size("u32 array", v, node)
                }
            }
            // The TLS and MPTCP ULPs' own attributes: by number.
            (Set::UlpInfo, "tls" | "mptcp") => nest(Set::Unknown, node),
            // bytecode (an inet_diag_bc_op program), pad, md5sig, map values: bytes.
            _ => node.hex = Some(to_hex(v)),
        }
    }

    fn wrong_size(&self, wanted: &str, v: &[u8], node: &mut Node) {
        node.hex = Some(to_hex(v));
        node.error = Some(format!("{wanted} does not fit {} bytes", v.len()));
    }

    fn int(&self, width: usize, v: &[u8], net_order: bool, node: &mut Node) {
        if v.len() != width {
            return self.wrong_size(&format!("{width} bytes"), v, node);
        }
        let n = if net_order {
            v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b))
        } else {
            self.uint(v)
        };
        node.value = Some(Value::from(n));
    }

    fn string(&self, v: &[u8], node: &mut Node) {
        let text = v.split(|b| *b == 0).next().unwrap_or(v);
        node.value = Some(Value::String(String::from_utf8_lossy(text).into_owned()));
    }

    /// A struct of u32 members; bytes past them (a newer kernel's longer struct) kept as hex.
    fn u32s(&self, members: &[&'static str], v: &[u8], node: &mut Node) {
        let m: Vec<M> = members.iter().map(|n| M::Int(n, 4)).collect();
        self.fixed(&m, v, node)
    }

    fn fixed(&self, members: &[M], v: &[u8], node: &mut Node) {
        let (map, used) = self.structure(members, v, 0);
        node.structure = Some(map);
        if used < v.len() {
            node.hex = Some(to_hex(&v[used..]));
        }
    }

    /// SK_MEMINFO_*: a u32 array, slots libc does not name (a newer kernel's) as `[N]`.
    fn sk_meminfo(&self, v: &[u8], node: &mut Node) {
        let mut map = Map::new();
        for (i, c) in v.chunks_exact(4).enumerate() {
            let key = libc::c_int::try_from(i)
                .ok()
                .and_then(|i| lookup(SK_MEMINFO, i))
                .map_or_else(|| format!("[{i}]"), str::to_string);
            map.insert(key, Value::from(self.uint(c)));
        }
        node.structure = Some(map);
        if !v.len().is_multiple_of(4) {
            self.wrong_size("u32 array", v, node);
        }
    }

    /// struct tcp_info as far as the bytes go: libc's struct gives the members' places; bytes
    /// past the members listed (newer kernels' ones) are kept as hex.
    fn tcp_info(&self, v: &[u8], node: &mut Node) {
        let mut map = Map::new();
        let mut end = 0;
        for (name, at, width) in tcp_info_members() {
            let Some(part) = v.get(at..at + width) else {
                break;
            };
            end = at + width;
            if name == "tcpi-snd-rcv-wscale" {
                // Two 4-bit fields, snd first: the low nibble on a little-endian host.
                let b = self.uint(part);
                let (snd, rcv) = if self.big_endian {
                    (b >> 4, b & 0xf)
                } else {
                    (b & 0xf, b >> 4)
                };
                map.insert("tcpi-snd-wscale".into(), Value::from(snd));
                map.insert("tcpi-rcv-wscale".into(), Value::from(rcv));
            } else if name == "tcpi-state" {
                map.insert(name.into(), state(self.uint(part)));
            } else {
                map.insert(name.into(), Value::from(self.uint(part)));
            }
        }
        node.structure = Some(map);
        if let Some(rest) = v.get(end..).filter(|r| !r.is_empty()) {
            node.hex = Some(to_hex(rest));
        }
    }

    /// INET_DIAG_LOCALS/PEERS (SCTP): an array of struct sockaddr_storage.
    fn sockaddrs(&self, v: &[u8], node: &mut Node) {
        let size = size_of::<libc::sockaddr_storage>();
        if !v.len().is_multiple_of(size) {
            return self.wrong_size("sockaddr_storage array", v, node);
        }
        let mut items = Vec::new();
        for sa in v.chunks_exact(size) {
            let family = sa.get(0..2).map(|f| self.uint(f));
            let port = sa.get(2..4).map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
            // sockaddr_in: sin_addr at 4; sockaddr_in6: sin6_addr at 8.
            let text = match family.map(|f| f as libc::c_int) {
                Some(libc::AF_INET) => sa
                    .get(4..8)
                    .map(|a| format!("{}.{}.{}.{}:{port}", a[0], a[1], a[2], a[3])),
                Some(libc::AF_INET6) => sa
                    .get(8..24)
                    .and_then(|a| <[u8; 16]>::try_from(a).ok())
                    .map(|a| format!("[{}]:{port}", Ipv6Addr::from(a))),
                _ => None,
            };
            items.push(Value::String(text.unwrap_or_else(|| to_hex(sa))));
        }
        node.value = Some(Value::Array(items));
    }

    /// struct inet_diag_sockopt: one-bit fields, allocated from the low bit on a little-endian
    /// host, from the high bit on a big-endian one.
    fn sockopt(&self, v: &[u8], node: &mut Node) {
        if v.len() != 2 {
            return self.wrong_size("2 bytes", v, node);
        }
        let mut names = Vec::new();
        for (i, name) in SOCKOPT_BITS.iter().enumerate() {
            let (byte, bit) = (i / 8, i % 8);
            let bit = if self.big_endian { 7 - bit } else { bit };
            if v.get(byte).is_some_and(|b| b & (1 << bit) != 0) {
                names.push(Value::String((*name).to_string()));
            }
        }
        node.value = Some(Value::Array(names));
        node.raw = Some(self.uint(v));
    }
}

/// struct tcp_info's members up to `tcpi_total_retrans` and the 64-bit counters after it:
/// (name, offset, width), places from libc's struct (netinet/tcp.h).
fn tcp_info_members() -> Vec<(&'static str, usize, usize)> {
    fn width<T>(_: fn(&libc::tcp_info) -> &T) -> usize {
        size_of::<T>()
    }
    macro_rules! members {
        ($($field:ident => $name:literal),* $(,)?) => {
            vec![$(($name, offset_of!(libc::tcp_info, $field), width(|t| &t.$field))),*]
        };
    }
    members![
        tcpi_state => "tcpi-state",
        tcpi_ca_state => "tcpi-ca-state",
        tcpi_retransmits => "tcpi-retransmits",
        tcpi_probes => "tcpi-probes",
        tcpi_backoff => "tcpi-backoff",
        tcpi_options => "tcpi-options",
        tcpi_snd_rcv_wscale => "tcpi-snd-rcv-wscale",
        tcpi_rto => "tcpi-rto",
        tcpi_ato => "tcpi-ato",
        tcpi_snd_mss => "tcpi-snd-mss",
        tcpi_rcv_mss => "tcpi-rcv-mss",
        tcpi_unacked => "tcpi-unacked",
        tcpi_sacked => "tcpi-sacked",
        tcpi_lost => "tcpi-lost",
        tcpi_retrans => "tcpi-retrans",
        tcpi_fackets => "tcpi-fackets",
        tcpi_last_data_sent => "tcpi-last-data-sent",
        tcpi_last_ack_sent => "tcpi-last-ack-sent",
        tcpi_last_data_recv => "tcpi-last-data-recv",
        tcpi_last_ack_recv => "tcpi-last-ack-recv",
        tcpi_pmtu => "tcpi-pmtu",
        tcpi_rcv_ssthresh => "tcpi-rcv-ssthresh",
        tcpi_rtt => "tcpi-rtt",
        tcpi_rttvar => "tcpi-rttvar",
        tcpi_snd_ssthresh => "tcpi-snd-ssthresh",
        tcpi_snd_cwnd => "tcpi-snd-cwnd",
        tcpi_advmss => "tcpi-advmss",
        tcpi_reordering => "tcpi-reordering",
        tcpi_rcv_rtt => "tcpi-rcv-rtt",
        tcpi_rcv_space => "tcpi-rcv-space",
        tcpi_total_retrans => "tcpi-total-retrans",
        tcpi_pacing_rate => "tcpi-pacing-rate",
        tcpi_max_pacing_rate => "tcpi-max-pacing-rate",
        tcpi_bytes_acked => "tcpi-bytes-acked",
        tcpi_bytes_received => "tcpi-bytes-received",
        tcpi_segs_out => "tcpi-segs-out",
        tcpi_segs_in => "tcpi-segs-in",
        tcpi_notsent_bytes => "tcpi-notsent-bytes",
        tcpi_min_rtt => "tcpi-min-rtt",
        tcpi_data_segs_in => "tcpi-data-segs-in",
        tcpi_data_segs_out => "tcpi-data-segs-out",
        tcpi_delivery_rate => "tcpi-delivery-rate",
        tcpi_busy_time => "tcpi-busy-time",
        tcpi_rwnd_limited => "tcpi-rwnd-limited",
        tcpi_sndbuf_limited => "tcpi-sndbuf-limited",
        tcpi_delivered => "tcpi-delivered",
        tcpi_delivered_ce => "tcpi-delivered-ce",
        tcpi_bytes_sent => "tcpi-bytes-sent",
        tcpi_bytes_retrans => "tcpi-bytes-retrans",
        tcpi_dsack_dups => "tcpi-dsack-dups",
        tcpi_reord_seen => "tcpi-reord-seen",
        tcpi_rcv_ooopack => "tcpi-rcv-ooopack",
        tcpi_snd_wnd => "tcpi-snd-wnd",
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    //! Messages laid out byte by byte from the uapi headers (libc has none of these structs but
    //! tcp_info, which is built with libc's own type), decoded and read back.
    use super::*;
    use crate::netlink::testing::tlv;
    use serde_json::json;

    fn must(d: Option<Decoded>) -> Decoded {
        d.unwrap_or_else(|| panic!("sock_diag message not decoded"))
    }

    fn fixed(d: &Decoded) -> &Map<String, Value> {
        d.fixed
            .as_ref()
            .unwrap_or_else(|| panic!("no fixed header in {d:?}"))
    }

    fn attr<'a>(d: &'a [Node], name: &str) -> &'a Node {
        d.iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no {name} in {d:?}"))
    }

    fn st(n: &Node) -> &Map<String, Value> {
        n.structure
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no struct", n.name))
    }

    /// struct inet_diag_sockid for 10.1.2.3:443 → 192.0.2.9:50000 on ifindex 7.
    fn sockid4() -> Vec<u8> {
        let mut id = Vec::new();
        id.extend_from_slice(&443u16.to_be_bytes());
        id.extend_from_slice(&50000u16.to_be_bytes());
        id.extend_from_slice(&[10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        id.extend_from_slice(&[192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        id.extend_from_slice(&7u32.to_ne_bytes());
        id.extend_from_slice(&0x1122_3344u32.to_ne_bytes());
        id.extend_from_slice(&0x5566_7788u32.to_ne_bytes());
        id
    }

    /// Seeds for the decoder fuzz (fuzz.rs): (NLM_F_REQUEST, payload after the nlmsghdr).
    pub(crate) fn fuzz_seeds() -> Vec<(bool, Vec<u8>)> {
        vec![
            (true, inet_request()),
            (false, inet6_answer()),
            (true, unix_request()),
            (false, unix_answer()),
        ]
    }

    #[test]
    fn struct_sizes_are_the_uapi_ones() {
        let size = |m: &[M]| m.iter().map(|m| m.size()).sum::<usize>();
        assert_eq!(size(INET_DIAG_REQ_V2), 56);
        assert_eq!(size(INET_DIAG_REQ_V1), 60);
        assert_eq!(size(INET_DIAG_MSG), 72);
        assert_eq!(size(UNIX_DIAG_REQ), 24);
        assert_eq!(size(UNIX_DIAG_MSG), 16);
        // SK_MEMINFO_VARS, the slots the kernel fills today.
        assert_eq!(SK_MEMINFO.len(), 9);
    }

    fn inet_request() -> Vec<u8> {
        let mut p = vec![libc::AF_INET as u8, libc::IPPROTO_TCP as u8];
        // idiag_ext: MEMINFO and INFO (bit N asks for attribute N + 1).
        p.push((1 << 0) | (1 << 1));
        p.push(0);
        p.extend_from_slice(&((1u32 << 1) | (1 << 10) | (1 << 20)).to_ne_bytes());
        p.extend_from_slice(&sockid4());
        p.extend(tlv(1, &[1, 2, 3, 4]));
        p.extend(tlv(3, &262u32.to_ne_bytes()));
        p.extend(tlv(9, &[0xaa]));
        p
    }

    #[test]
    fn inet_request_v2() {
        let p = inet_request();
        let d = must(decode(20, true, &p, false));
        assert_eq!((d.spec, d.op), ("sock_diag", Some("SOCK_DIAG_BY_FAMILY")));
        let f = fixed(&d);
        assert_eq!(f["sdiag-family"], json!(2));
        assert_eq!(f["sdiag-protocol"], json!(6));
        assert_eq!(f["idiag-ext"], json!(["meminfo", "info"]));
        assert_eq!(
            f["idiag-states"],
            json!(["established", "listen", "0x100000"])
        );
        assert_eq!(
            f["id"],
            json!({"idiag-sport": 443, "idiag-dport": 50000, "idiag-src": "10.1.2.3",
                   "idiag-dst": "192.0.2.9", "idiag-if": 7,
                   "idiag-cookie": 0x5566_7788_1122_3344u64})
        );
        assert_eq!(attr(&d.attrs, "bytecode").hex.as_deref(), Some("01020304"));
        assert_eq!(attr(&d.attrs, "protocol").value, Some(json!(262)));
        let unknown = attr(&d.attrs, "attr-9");
        assert!(unknown.unknown && unknown.hex.as_deref() == Some("aa"));
    }

    fn inet6_answer() -> Vec<u8> {
        let mut p = vec![libc::AF_INET6 as u8, 10, 1, 2];
        let mut id = Vec::new();
        id.extend_from_slice(&22u16.to_be_bytes());
        id.extend_from_slice(&0u16.to_be_bytes());
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap_or_else(|e| panic!("{e}"));
        id.extend_from_slice(&src.octets());
        id.extend_from_slice(&[0; 16]);
        id.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&id);
        for v in [1000u32, 1, 2, 0, 4242] {
            p.extend_from_slice(&v.to_ne_bytes());
        }
        let mut meminfo = Vec::new();
        for v in [1u32, 2, 3, 4] {
            meminfo.extend_from_slice(&v.to_ne_bytes());
        }
        p.extend(tlv(1, &meminfo));
        // tcp_info built with libc's own struct: the decoder must find its members where libc
        // puts them.
        let info = libc::tcp_info {
            tcpi_state: 10,
            tcpi_snd_rcv_wscale: 0x97,
            tcpi_rtt: 1234,
            tcpi_snd_cwnd: 10,
            tcpi_bytes_received: 1 << 40,
            // SAFETY: tcp_info is plain integers, all-zero is a valid value.
            ..unsafe { std::mem::zeroed() }
        };
        // SAFETY: reading the bytes of a plain-integer struct that lives for the borrow.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&info as *const libc::tcp_info).cast::<u8>(),
                size_of::<libc::tcp_info>(),
            )
        };
        p.extend(tlv(2, bytes));
        p.extend(tlv(4, b"cubic\0"));
        let mut sk = Vec::new();
        for v in 0u32..10 {
            sk.extend_from_slice(&v.to_ne_bytes());
        }
        p.extend(tlv(7, &sk));
        p.extend(tlv(8, &[3]));
        p.extend(tlv(22, &[0b0000_0101, 0b0000_0001]));
        p.extend(tlv(19, &tlv(1, b"tls\0")));
        p.extend(tlv(21, &77u64.to_ne_bytes()));
        p.extend(tlv(15, &[1, 2])); // mark: a u32 of 2 bytes.

        p
    }

    #[test]
    fn inet6_answer_with_attributes() {
        let p = inet6_answer();
        let d = must(decode(20, false, &p, false));
        let f = fixed(&d);
        assert_eq!(f["idiag-state"], json!("listen"));
        assert_eq!(f["idiag-uid"], json!(0));
        assert_eq!(f["idiag-inode"], json!(4242));
        assert_eq!(f["idiag-expires"], json!(1000));
        assert_eq!(f["id"]["idiag-src"], json!("2001:db8::1"));
        assert_eq!(f["id"]["idiag-sport"], json!(22));
        assert_eq!(st(attr(&d.attrs, "meminfo"))["idiag-tmem"], json!(4));
        let tcp = st(attr(&d.attrs, "info"));
        assert_eq!(tcp["tcpi-state"], json!("listen"));
        assert_eq!(tcp["tcpi-snd-wscale"], json!(7));
        assert_eq!(tcp["tcpi-rcv-wscale"], json!(9));
        assert_eq!(tcp["tcpi-rtt"], json!(1234));
        assert_eq!(tcp["tcpi-snd-cwnd"], json!(10));
        assert_eq!(tcp["tcpi-bytes-received"], json!(1u64 << 40));
        assert_eq!(attr(&d.attrs, "cong").value, Some(json!("cubic")));
        let sk = st(attr(&d.attrs, "skmeminfo"));
        assert_eq!(sk["rmem-alloc"], json!(0));
        assert_eq!(sk["drops"], json!(8));
        assert_eq!(sk["[9]"], json!(9));
        assert_eq!(attr(&d.attrs, "shutdown").value, Some(json!(3)));
        assert_eq!(
            attr(&d.attrs, "sockopt").value,
            Some(json!(["recverr", "freebind", "bind-address-no-port"]))
        );
        let ulp = attr(&d.attrs, "ulp-info");
        let name = attr(ulp.attrs.as_deref().unwrap_or(&[]), "name");
        assert_eq!(name.value, Some(json!("tls")));
        assert_eq!(attr(&d.attrs, "cgroup-id").value, Some(json!(77)));
        let mark = attr(&d.attrs, "mark");
        assert!(mark.error.is_some() && mark.hex.as_deref() == Some("0102"));
    }

    fn unix_request() -> Vec<u8> {
        let mut req = vec![libc::AF_UNIX as u8, 0, 0, 0];
        req.extend_from_slice(&u32::MAX.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(&(1u32 | 4 | 0x40).to_ne_bytes());
        req.extend_from_slice(&[0xff; 8]);
        req
    }

    fn unix_answer() -> Vec<u8> {
        let mut msg = vec![libc::AF_UNIX as u8, libc::SOCK_STREAM as u8, 1, 0];
        msg.extend_from_slice(&31337u32.to_ne_bytes());
        msg.extend_from_slice(&[0; 8]);
        msg.extend(tlv(0, b"\0abstract"));
        msg.extend(tlv(2, &31338u32.to_ne_bytes()));
        msg.extend(tlv(3, &[1, 0, 0, 0, 2, 0, 0, 0]));
        msg.extend(tlv(4, &[5, 0, 0, 0, 6, 0, 0, 0]));
        msg.extend(tlv(7, &1000u32.to_ne_bytes()));
        msg.extend(tlv(1, &[1, 0, 0, 0, 2, 0, 0, 0]));
        msg
    }

    #[test]
    fn unix_request_and_answer() {
        let req = unix_request();
        let d = must(decode(20, true, &req, false));
        let f = fixed(&d);
        assert_eq!(f["udiag-show"], json!(["name", "peer", "uid"]));
        assert_eq!(f["udiag-cookie"], json!(u64::MAX));
        assert!(d.attrs.is_empty());

        let msg = unix_answer();
        let d = must(decode(20, false, &msg, false));
        let f = fixed(&d);
        assert_eq!(f["udiag-type"], json!("stream"));
        assert_eq!(f["udiag-state"], json!("established"));
        assert_eq!(f["udiag-ino"], json!(31337));
        assert_eq!(attr(&d.attrs, "name").value, Some(json!("@abstract")));
        assert_eq!(attr(&d.attrs, "peer").value, Some(json!(31338)));
        assert_eq!(attr(&d.attrs, "icons").value, Some(json!([1, 2])));
        assert_eq!(st(attr(&d.attrs, "rqlen"))["udiag-wqueue"], json!(6));
        assert_eq!(st(attr(&d.attrs, "vfs"))["udiag-vfs-dev"], json!(2));
        assert_eq!(attr(&d.attrs, "uid").value, Some(json!(1000)));
    }

    #[test]
    fn old_request_other_families_and_big_endian() {
        let mut v1 = vec![libc::AF_INET as u8, 0, 0, 0];
        v1.extend_from_slice(&sockid4());
        v1.extend_from_slice(&0xfffu32.to_ne_bytes());
        v1.extend_from_slice(&0u32.to_ne_bytes());
        let d = must(decode(18, true, &v1, false));
        assert_eq!(d.op, Some("TCPDIAG_GETSOCK"));
        assert_eq!(fixed(&d)["id"]["idiag-dport"], json!(50000));
        assert_eq!(fixed(&d)["idiag-dbs"], json!(0));

        // AF_NETLINK: the common two bytes, then bytes.
        let d = must(decode(20, true, &[16, 0, 1, 2], false));
        assert_eq!(fixed(&d)["sdiag-family"], json!(16));
        assert_eq!(d.attrs[0].hex.as_deref(), Some("0102"));

        // A big-endian host's answer: host-order members swap, the network-order ones do not.
        let mut be = vec![libc::AF_INET as u8, 1, 0, 0];
        be.extend_from_slice(&443u16.to_be_bytes());
        be.extend_from_slice(&[0; 46]);
        for v in [0u32, 0, 0, 1000, 99] {
            be.extend_from_slice(&v.to_be_bytes());
        }
        let d = must(decode(20, false, &be, true));
        assert_eq!(fixed(&d)["idiag-uid"], json!(1000));
        assert_eq!(fixed(&d)["id"]["idiag-sport"], json!(443));
        let mut unix = vec![libc::AF_UNIX as u8, 2, 7, 0, 0, 0, 0, 9];
        unix.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        let d = must(decode(20, false, &unix, true));
        assert_eq!(fixed(&d)["udiag-ino"], json!(9));
        assert_eq!(fixed(&d)["udiag-cookie"], json!(0x2_0000_0001u64));

        assert!(decode(99, true, &[], false).is_none());
    }

    #[test]
    fn no_panic_on_any_prefix_or_bad_length() {
        let mut p = vec![libc::AF_INET as u8, 1, 0, 0];
        p.extend_from_slice(&sockid4());
        p.extend_from_slice(&[0; 20]);
        p.extend(tlv(2, &[1; 40]));
        p.extend(tlv(19, &tlv(2, &tlv(1, &[1]))));
        p.extend(tlv(20, &tlv(1, &tlv(2, &[1, 0, 0, 0]))));
        p.extend(tlv(12, &[0; 256]));
        for end in 0..=p.len() {
            for request in [true, false] {
                for t in [18, 20, 21] {
                    let _ = decode(t, request, &p[..end], end % 2 == 0);
                }
            }
        }
        // A length past the end: one node with the error and the bytes.
        let mut bad = p[..72].to_vec();
        bad.extend_from_slice(&[200, 0, 1, 0, 9]);
        let d = must(decode(20, false, &bad, false));
        let last = d.attrs.last().unwrap_or_else(|| panic!("no attrs"));
        assert!(last.error.is_some() && last.hex.as_deref() == Some("c800010009"));
    }
}
