//! A link in the shape `ip -j -s -d link show` prints it: the Rust twin of `src/core/link-json.ts`.
//!
//! It exists for one job: `list --json` / `stats --json` over thousands of links (bin/run.js's fast
//! path), where building JS objects and stringifying them costs more than the kernel's dump. Both
//! twins are checked against the same cases (test/fixtures/link-json.json) by this module's tests
//! and by test/unit/link-json.test.ts, and a guest test compares the two paths byte for byte.

use serde::Serialize;

use crate::js::{LinkInfo, Stats64};

const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;

/// iproute2's print_link_flags() order.
const FLAG_NAMES: [(&str, u32); 18] = [
    ("LOOPBACK", 0x8),
    ("BROADCAST", 0x2),
    ("POINTOPOINT", 0x10),
    ("MULTICAST", 0x1000),
    ("NOARP", 0x80),
    ("ALLMULTI", 0x200),
    ("PROMISC", 0x100),
    ("NOTRAILERS", 0x20),
    ("DEBUG", 0x4),
    ("DYNAMIC", 0x8000),
    ("AUTOMEDIA", 0x4000),
    ("PORTSEL", 0x2000),
    ("MASTER", 0x400),
    ("SLAVE", 0x800),
    ("UP", IFF_UP),
    ("LOWER_UP", 0x10000),
    ("DORMANT", 0x20000),
    ("ECHO", 0x40000),
];

const OPERSTATES: [&str; 7] = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];
const LINKMODES: [&str; 3] = ["DEFAULT", "DORMANT", "TESTING"];

pub fn flag_names(flags: u32) -> Vec<String> {
    let mut names = Vec::new();
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        names.push("NO-CARRIER".to_string());
    }
    let mut rest = flags & !IFF_RUNNING;
    for (name, bit) in FLAG_NAMES {
        if rest & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:x}"));
    }
    names
}

fn named(table: &[&str], value: u32) -> String {
    table.get(value as usize).map_or_else(|| value.to_string(), |name| (*name).to_string())
}

/// The ARPHRD types an nlmonctl user meets; iproute2 prints "[N]" for the ones it does not know.
pub fn link_type_name(link_type: u32) -> String {
    let name = match link_type {
        0 => "netrom",
        1 => "ether",
        65534 => "none",
        65535 => "void",
        768 => "ipip",
        769 => "tunnel6",
        772 => "loopback",
        776 => "sit",
        778 => "gre",
        823 => "ip6gre",
        824 => "netlink",
        other => return format!("[{other}]"),
    };
    name.to_string()
}

#[derive(Serialize)]
struct IpLink<'a> {
    ifindex: u32,
    ifname: &'a str,
    flags: Vec<String>,
    mtu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    qdisc: Option<&'a str>,
    operstate: String,
    linkmode: String,
    group: String,
    txqlen: u32,
    link_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ifalias: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    linkinfo: Option<IpLinkInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats64: Option<IpStats64>,
}

#[derive(Serialize)]
struct IpLinkInfo<'a> {
    info_kind: &'a str,
}

#[derive(Serialize)]
struct IpStats64 {
    rx: IpRx,
    tx: IpTx,
}

// Counters are written as integers: the same text as JS prints below 2^53 (JS would round above).
#[derive(Serialize)]
struct IpRx {
    bytes: u64,
    packets: u64,
    errors: u64,
    dropped: u64,
    over_errors: u64,
    multicast: u64,
}

#[derive(Serialize)]
struct IpTx {
    bytes: u64,
    packets: u64,
    errors: u64,
    dropped: u64,
    carrier_errors: u64,
    collisions: u64,
}

fn stats(s: &Stats64) -> IpStats64 {
    let n = |v: f64| v as u64;
    IpStats64 {
        rx: IpRx {
            bytes: n(s.rx_bytes),
            packets: n(s.rx_packets),
            errors: n(s.rx_errors),
            dropped: n(s.rx_dropped),
            over_errors: n(s.rx_over_errors),
            multicast: n(s.multicast),
        },
        tx: IpTx {
            bytes: n(s.tx_bytes),
            packets: n(s.tx_packets),
            errors: n(s.tx_errors),
            dropped: n(s.tx_dropped),
            carrier_errors: n(s.tx_carrier_errors),
            collisions: n(s.collisions),
        },
    }
}

fn shape(link: &LinkInfo) -> IpLink<'_> {
    IpLink {
        ifindex: link.ifindex,
        ifname: &link.ifname,
        flags: flag_names(link.flags),
        mtu: link.mtu,
        qdisc: link.qdisc.as_deref(),
        operstate: named(&OPERSTATES, link.operstate),
        linkmode: named(&LINKMODES, link.linkmode),
        group: if link.group == 0 { "default".to_string() } else { link.group.to_string() },
        txqlen: link.txqlen,
        link_type: link_type_name(link.link_type),
        ifalias: link.ifalias.as_deref().filter(|alias| !alias.is_empty()),
        min_mtu: link.min_mtu,
        max_mtu: link.max_mtu,
        linkinfo: link.kind.as_deref().map(|info_kind| IpLinkInfo { info_kind }),
        stats64: link.stats64.as_ref().map(stats),
    }
}

/// Append one link's JSON (compact, keys in link-json.ts's order) to `out`.
pub fn write(out: &mut Vec<u8>, link: &LinkInfo) -> serde_json::Result<()> {
    serde_json::to_writer(out, &shape(link))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        info: LinkInfo,
        json: serde_json::Value,
    }

    /// The cases link-json.ts is tested against too: the twins must agree on every one of them.
    #[test]
    fn shapes_every_shared_case_like_link_json_ts() {
        let cases: Vec<Case> =
            serde_json::from_str(include_str!("../../test/fixtures/link-json.json")).unwrap();
        assert!(cases.len() >= 4, "test/fixtures/link-json.json did not load");
        for case in cases {
            let mut out = Vec::new();
            write(&mut out, &case.info).unwrap();
            // byte for byte what JSON.stringify prints for the expected object (same key order)
            let expected = serde_json::to_string(&case.json).unwrap();
            assert_eq!(String::from_utf8_lossy(&out), expected, "case {}", case.name);
        }
    }

    #[test]
    fn flags_and_names() {
        assert_eq!(flag_names(0x1 | 0x80), ["NO-CARRIER", "NOARP", "UP"]);
        assert_eq!(flag_names(0x80000), ["80000"]);
        assert_eq!(named(&OPERSTATES, 9), "9");
        assert_eq!(link_type_name(9999), "[9999]");
    }
}
