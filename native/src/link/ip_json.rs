//! A link in the shape `ip -j -s -d link show` prints it: the Rust twin of `src/core/link-json.ts`.
//!
//! It exists for one job: `list --json` / `stats --json` over thousands of links (bin/run.js's fast
//! path), where building JS objects and stringifying them costs more than the kernel's dump. Both
//! twins are checked against the same cases (test/fixtures/link-json.json) by this module's tests
//! and by test/unit/link-json.test.ts; a host and a guest test compare the two paths byte for byte.

use std::borrow::Cow;

use netlink_packet_route::link::Stats64;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

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

const OPERSTATES: [&str; 7] = [
    "UNKNOWN",
    "NOTPRESENT",
    "DOWN",
    "LOWERLAYERDOWN",
    "TESTING",
    "DORMANT",
    "UP",
];
const LINKMODES: [&str; 3] = ["DEFAULT", "DORMANT", "TESTING"];

/// The attributes `list` shows of one link, borrowed: read straight from an RTM_NEWLINK payload by
/// `link::read_shown` (the fast listing); the tests build it from the shared cases' `LinkInfo`.
#[derive(Debug, Default)]
pub struct ShownLink<'a> {
    pub ifindex: u32,
    pub ifname: &'a str,
    pub kind: Option<&'a str>,
    pub flags: u32,
    pub operstate: u32,
    pub linkmode: u32,
    pub mtu: u32,
    pub min_mtu: Option<u32>,
    pub max_mtu: Option<u32>,
    pub txqlen: u32,
    pub group: u32,
    pub ifalias: Option<&'a str>,
    pub qdisc: Option<&'a str>,
    pub link_type: u32,
    pub stats64: Option<Stats64>,
}

/// ifi_flags as iproute2 names them: serialized as an array without building one.
struct Flags(u32);

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let flags = self.0;
        let mut seq = serializer.serialize_seq(None)?;
        if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
            seq.serialize_element("NO-CARRIER")?;
        }
        let mut rest = flags & !IFF_RUNNING;
        for (name, bit) in FLAG_NAMES {
            if rest & bit != 0 {
                seq.serialize_element(name)?;
                rest &= !bit;
            }
        }
        if rest != 0 {
            seq.serialize_element(&format!("{rest:x}"))?;
        }
        seq.end()
    }
}

fn named(table: &[&'static str], value: u32) -> Cow<'static, str> {
    table.get(value as usize).map_or_else(
        || Cow::Owned(value.to_string()),
        |name| Cow::Borrowed(*name),
    )
}

/// The ARPHRD types an nlmonctl user meets; iproute2 prints "[N]" for the ones it does not know.
fn link_type_name(link_type: u32) -> Cow<'static, str> {
    Cow::Borrowed(match link_type {
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
        other => return Cow::Owned(format!("[{other}]")),
    })
}

#[derive(Serialize)]
struct IpLink<'a> {
    ifindex: u32,
    ifname: &'a str,
    flags: Flags,
    mtu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    qdisc: Option<&'a str>,
    operstate: Cow<'static, str>,
    linkmode: Cow<'static, str>,
    group: Cow<'static, str>,
    txqlen: u32,
    link_type: Cow<'static, str>,
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
    IpStats64 {
        rx: IpRx {
            bytes: s.rx_bytes,
            packets: s.rx_packets,
            errors: s.rx_errors,
            dropped: s.rx_dropped,
            over_errors: s.rx_over_errors,
            multicast: s.multicast,
        },
        tx: IpTx {
            bytes: s.tx_bytes,
            packets: s.tx_packets,
            errors: s.tx_errors,
            dropped: s.tx_dropped,
            carrier_errors: s.tx_carrier_errors,
            collisions: s.collisions,
        },
    }
}

/// Append one link's JSON (compact, keys in link-json.ts's order) to `out`.
pub fn write(out: &mut Vec<u8>, link: &ShownLink<'_>) -> serde_json::Result<()> {
    let shaped = IpLink {
        ifindex: link.ifindex,
        ifname: link.ifname,
        flags: Flags(link.flags),
        mtu: link.mtu,
        qdisc: link.qdisc,
        operstate: named(&OPERSTATES, link.operstate),
        linkmode: named(&LINKMODES, link.linkmode),
        group: if link.group == 0 {
            Cow::Borrowed("default")
        } else {
            Cow::Owned(link.group.to_string())
        },
        txqlen: link.txqlen,
        link_type: link_type_name(link.link_type),
        ifalias: link.ifalias.filter(|alias| !alias.is_empty()),
        min_mtu: link.min_mtu,
        max_mtu: link.max_mtu,
        linkinfo: link.kind.map(|info_kind| IpLinkInfo { info_kind }),
        stats64: link.stats64.as_ref().map(stats),
    };
    serde_json::to_writer(out, &shaped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::js::LinkInfo;

    // The shared cases are written as the JS side sees a link (LinkInfo, counters as numbers).
    impl<'a> From<&'a LinkInfo> for ShownLink<'a> {
        fn from(link: &'a LinkInfo) -> Self {
            let n = |v: f64| v as u64;
            ShownLink {
                ifindex: link.ifindex,
                ifname: &link.ifname,
                kind: link.kind.as_deref(),
                flags: link.flags,
                operstate: link.operstate,
                linkmode: link.linkmode,
                mtu: link.mtu,
                min_mtu: link.min_mtu,
                max_mtu: link.max_mtu,
                txqlen: link.txqlen,
                group: link.group,
                ifalias: link.ifalias.as_deref(),
                qdisc: link.qdisc.as_deref(),
                link_type: link.link_type,
                stats64: link.stats64.as_ref().map(|s| {
                    // non-exhaustive upstream: start from zero, set what is shown
                    let mut stats = Stats64::default();
                    stats.rx_bytes = n(s.rx_bytes);
                    stats.rx_packets = n(s.rx_packets);
                    stats.rx_errors = n(s.rx_errors);
                    stats.rx_dropped = n(s.rx_dropped);
                    stats.rx_over_errors = n(s.rx_over_errors);
                    stats.multicast = n(s.multicast);
                    stats.tx_bytes = n(s.tx_bytes);
                    stats.tx_packets = n(s.tx_packets);
                    stats.tx_errors = n(s.tx_errors);
                    stats.tx_dropped = n(s.tx_dropped);
                    stats.tx_carrier_errors = n(s.tx_carrier_errors);
                    stats.collisions = n(s.collisions);
                    stats
                }),
            }
        }
    }

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
        assert!(
            cases.len() >= 4,
            "test/fixtures/link-json.json did not load"
        );
        for case in cases {
            let mut out = Vec::new();
            write(&mut out, &ShownLink::from(&case.info)).unwrap();
            // byte for byte what JSON.stringify prints for the expected object (same key order)
            let expected = serde_json::to_string(&case.json).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                expected,
                "case {}",
                case.name
            );
        }
    }
}
