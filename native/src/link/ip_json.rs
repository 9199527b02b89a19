//! The one shape a link is handed out in: what `ip -j -s -d link show` prints of it (iproute2's
//! key names and order, flag names and order, NO-CARRIER, operstate/linkmode/link_type names,
//! group "default"), restricted to the keys nlmonctl shows. Absent attributes stay absent;
//! counters are written as exact u64 integers.
//!
//! Written straight from the decoded message (`decode::Link`, borrowed), without a JS object or
//! a String per link: `list --json` over 10,000 links costs about what `ip` itself does.

use std::borrow::Cow;

use netlink_packet_route::link::{LinkFlags, Stats64};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::decode::Link;

const IFF_UP: u32 = LinkFlags::Up.bits();
const IFF_RUNNING: u32 = LinkFlags::Running.bits();

/// iproute2's print_link_flags() order (MASTER and SLAVE are the crate's Controller and Port).
const FLAG_NAMES: [(&str, u32); 18] = [
    ("LOOPBACK", LinkFlags::Loopback.bits()),
    ("BROADCAST", LinkFlags::Broadcast.bits()),
    ("POINTOPOINT", LinkFlags::Pointopoint.bits()),
    ("MULTICAST", LinkFlags::Multicast.bits()),
    ("NOARP", LinkFlags::Noarp.bits()),
    ("ALLMULTI", LinkFlags::Allmulti.bits()),
    ("PROMISC", LinkFlags::Promisc.bits()),
    ("NOTRAILERS", LinkFlags::Notrailers.bits()),
    ("DEBUG", LinkFlags::Debug.bits()),
    ("DYNAMIC", LinkFlags::Dynamic.bits()),
    ("AUTOMEDIA", LinkFlags::Automedia.bits()),
    ("PORTSEL", LinkFlags::Portsel.bits()),
    ("MASTER", LinkFlags::Controller.bits()),
    ("SLAVE", LinkFlags::Port.bits()),
    ("UP", IFF_UP),
    ("LOWER_UP", LinkFlags::LowerUp.bits()),
    ("DORMANT", LinkFlags::Dormant.bits()),
    ("ECHO", LinkFlags::Echo.bits()),
];

/// IF_OPER_* in order.
const OPERSTATES: [&str; 7] = [
    "UNKNOWN",
    "NOTPRESENT",
    "DOWN",
    "LOWERLAYERDOWN",
    "TESTING",
    "DORMANT",
    "UP",
];
/// IF_LINK_MODE_* in order.
const LINKMODES: [&str; 3] = ["DEFAULT", "DORMANT", "TESTING"];

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

fn named(table: &[&'static str], value: u8) -> Cow<'static, str> {
    table.get(usize::from(value)).map_or_else(
        || Cow::Owned(value.to_string()),
        |name| Cow::Borrowed(*name),
    )
}

/// The ARPHRD types an nlmonctl user meets; iproute2 prints "[N]" for the ones it does not know.
fn link_type_name(link_type: u16) -> Cow<'static, str> {
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

// Counters are written as exact integers (JS would round above 2^53; JSON does not).
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

/// Append one link's JSON object (compact, iproute2's key order) to `out`.
pub fn write(out: &mut Vec<u8>, link: &Link<'_>) -> serde_json::Result<()> {
    let group = link.group.unwrap_or(0);
    let shaped = IpLink {
        ifindex: link.ifindex,
        ifname: link.ifname.unwrap_or(""),
        flags: Flags(link.flags),
        mtu: link.mtu.unwrap_or(0),
        qdisc: link.qdisc,
        operstate: named(&OPERSTATES, link.operstate.unwrap_or(0)),
        linkmode: named(&LINKMODES, link.linkmode.unwrap_or(0)),
        group: if group == 0 {
            Cow::Borrowed("default")
        } else {
            Cow::Owned(group.to_string())
        },
        txqlen: link.txqlen.unwrap_or(0),
        link_type: link_type_name(link.link_type),
        ifalias: link.ifalias.filter(|alias| !alias.is_empty()),
        min_mtu: link.min_mtu,
        max_mtu: link.max_mtu,
        linkinfo: link.kind.map(|info_kind| IpLinkInfo { info_kind }),
        stats64: link.stats64.as_ref().map(stats),
    };
    serde_json::to_writer(out, &shaped)
}

/// One link's JSON object on its own.
pub fn to_vec(link: &Link<'_>) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    write(&mut out, link)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        link: Link<'static>,
        /// Byte for byte what JSON.stringify printed for the same link before the shaping moved
        /// here from src/core/link-json.ts (test/fixtures/link-json.json's cases).
        json: &'static str,
    }

    /// Stats64 is non-exhaustive upstream: start from zero, set what a case shows.
    fn stats(set: impl FnOnce(&mut Stats64)) -> Stats64 {
        let mut s = Stats64::default();
        set(&mut s);
        s
    }

    fn shaped(link: &Link<'_>) -> String {
        match to_vec(link) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => panic!("{e}"),
        }
    }

    fn flag_names(flags: u32) -> Vec<String> {
        let text = shaped(&Link {
            flags,
            ..Link::default()
        });
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        value["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                name: "an nlmon link, UP, with alias, group and counters",
                link: Link {
                    ifindex: 7,
                    ifname: Some("nlmon0"),
                    kind: Some("nlmon"),
                    flags: 0x100c1,
                    operstate: Some(0),
                    linkmode: Some(0),
                    mtu: Some(3776),
                    min_mtu: Some(16),
                    max_mtu: Some(0),
                    txqlen: Some(0),
                    group: Some(4),
                    ifalias: Some("ci"),
                    qdisc: Some("noqueue"),
                    link_type: 824,
                    stats64: Some(stats(|s| {
                        s.rx_packets = 5; s.rx_bytes = 900; s.rx_dropped = 1; s.tx_packets = 2; s.tx_bytes = 64; s.multicast = 3; s.rx_over_errors = 6; s.tx_carrier_errors = 7; s.collisions = 8; s.rx_errors = 9; s.tx_errors = 10; s.tx_dropped = 11; s.rx_crc_errors = 99; s.rx_nohandler = 99;
                    })),
                    ..Link::default()
                },
                json: "{\"ifindex\":7,\"ifname\":\"nlmon0\",\"flags\":[\"NOARP\",\"UP\",\"LOWER_UP\"],\"mtu\":3776,\"qdisc\":\"noqueue\",\"operstate\":\"UNKNOWN\",\"linkmode\":\"DEFAULT\",\"group\":\"4\",\"txqlen\":0,\"link_type\":\"netlink\",\"ifalias\":\"ci\",\"min_mtu\":16,\"max_mtu\":0,\"linkinfo\":{\"info_kind\":\"nlmon\"},\"stats64\":{\"rx\":{\"bytes\":900,\"packets\":5,\"errors\":9,\"dropped\":1,\"over_errors\":6,\"multicast\":3},\"tx\":{\"bytes\":64,\"packets\":2,\"errors\":10,\"dropped\":11,\"carrier_errors\":7,\"collisions\":8}}}",
            },
            Case {
                name: "absent optional fields stay absent; group 0 is default",
                link: Link {
                    ifindex: 8,
                    ifname: Some("nlmon1"),
                    flags: 0x80,
                    operstate: Some(2),
                    linkmode: Some(0),
                    mtu: Some(3776),
                    txqlen: Some(0),
                    group: Some(0),
                    link_type: 824,
                    ..Link::default()
                },
                json: "{\"ifindex\":8,\"ifname\":\"nlmon1\",\"flags\":[\"NOARP\"],\"mtu\":3776,\"operstate\":\"DOWN\",\"linkmode\":\"DEFAULT\",\"group\":\"default\",\"txqlen\":0,\"link_type\":\"netlink\"}",
            },
            Case {
                name: "an empty alias is no alias",
                link: Link {
                    ifindex: 9,
                    ifname: Some("n"),
                    kind: Some("nlmon"),
                    flags: 0x80,
                    operstate: Some(2),
                    linkmode: Some(0),
                    mtu: Some(3776),
                    txqlen: Some(0),
                    group: Some(0),
                    ifalias: Some(""),
                    link_type: 824,
                    ..Link::default()
                },
                json: "{\"ifindex\":9,\"ifname\":\"n\",\"flags\":[\"NOARP\"],\"mtu\":3776,\"operstate\":\"DOWN\",\"linkmode\":\"DEFAULT\",\"group\":\"default\",\"txqlen\":0,\"link_type\":\"netlink\",\"linkinfo\":{\"info_kind\":\"nlmon\"}}",
            },
            Case {
                name: "lo: LOOPBACK first, RUNNING folded",
                link: Link {
                    ifindex: 1,
                    ifname: Some("lo"),
                    flags: 0x10049,
                    operstate: Some(0),
                    linkmode: Some(0),
                    mtu: Some(65536),
                    min_mtu: Some(0),
                    max_mtu: Some(0),
                    txqlen: Some(1000),
                    group: Some(0),
                    qdisc: Some("noqueue"),
                    link_type: 772,
                    ..Link::default()
                },
                json: "{\"ifindex\":1,\"ifname\":\"lo\",\"flags\":[\"LOOPBACK\",\"UP\",\"LOWER_UP\"],\"mtu\":65536,\"qdisc\":\"noqueue\",\"operstate\":\"UNKNOWN\",\"linkmode\":\"DEFAULT\",\"group\":\"default\",\"txqlen\":1000,\"link_type\":\"loopback\",\"min_mtu\":0,\"max_mtu\":0}",
            },
            Case {
                name: "UP without RUNNING is NO-CARRIER; unknown bits in hex; unknown states and types by number",
                link: Link {
                    ifindex: 12,
                    ifname: Some("veth0"),
                    kind: Some("veth"),
                    flags: 0x81003,
                    operstate: Some(9),
                    linkmode: Some(5),
                    mtu: Some(1500),
                    txqlen: Some(1000),
                    group: Some(4294967295),
                    link_type: 9999,
                    ..Link::default()
                },
                json: "{\"ifindex\":12,\"ifname\":\"veth0\",\"flags\":[\"NO-CARRIER\",\"BROADCAST\",\"MULTICAST\",\"UP\",\"80000\"],\"mtu\":1500,\"operstate\":\"9\",\"linkmode\":\"5\",\"group\":\"4294967295\",\"txqlen\":1000,\"link_type\":\"[9999]\",\"linkinfo\":{\"info_kind\":\"veth\"}}",
            },
            Case {
                name: "strings that need escaping, and counters up to 2^53",
                link: Link {
                    ifindex: 13,
                    ifname: Some("é0"),
                    kind: Some("nlmon"),
                    flags: 0x80,
                    operstate: Some(2),
                    linkmode: Some(1),
                    mtu: Some(3776),
                    txqlen: Some(0),
                    group: Some(0),
                    ifalias: Some("quote \" backslash \\ tab \t nl \n esc \u{1b} del \u{7f} ü \u{2028}"),
                    link_type: 824,
                    stats64: Some(stats(|s| {
                        s.rx_bytes = 9007199254740991; s.rx_packets = 4294967296;
                    })),
                    ..Link::default()
                },
                json: "{\"ifindex\":13,\"ifname\":\"é0\",\"flags\":[\"NOARP\"],\"mtu\":3776,\"operstate\":\"DOWN\",\"linkmode\":\"DORMANT\",\"group\":\"default\",\"txqlen\":0,\"link_type\":\"netlink\",\"ifalias\":\"quote \\\" backslash \\\\ tab \\t nl \\n esc \\u001b del \u{7f} ü \u{2028}\",\"linkinfo\":{\"info_kind\":\"nlmon\"},\"stats64\":{\"rx\":{\"bytes\":9007199254740991,\"packets\":4294967296,\"errors\":0,\"dropped\":0,\"over_errors\":0,\"multicast\":0},\"tx\":{\"bytes\":0,\"packets\":0,\"errors\":0,\"dropped\":0,\"carrier_errors\":0,\"collisions\":0}}}",
            },
            Case {
                name: "counters above 2^53 are exact, up to u64::MAX",
                link: Link {
                    ifindex: 14,
                    ifname: Some("big"),
                    flags: 0x80,
                    operstate: Some(6),
                    linkmode: Some(2),
                    mtu: Some(3776),
                    txqlen: Some(0),
                    group: Some(1),
                    link_type: 824,
                    stats64: Some(stats(|s| {
                        s.rx_bytes = u64::MAX;
                        s.rx_packets = (1 << 53) + 1;
                        s.tx_bytes = 1 << 53;
                        s.tx_packets = (1 << 63) + 3;
                    })),
                    ..Link::default()
                },
                json: "{\"ifindex\":14,\"ifname\":\"big\",\"flags\":[\"NOARP\"],\"mtu\":3776,\"operstate\":\"UP\",\"linkmode\":\"TESTING\",\"group\":\"1\",\"txqlen\":0,\"link_type\":\"netlink\",\"stats64\":{\"rx\":{\"bytes\":18446744073709551615,\"packets\":9007199254740993,\"errors\":0,\"dropped\":0,\"over_errors\":0,\"multicast\":0},\"tx\":{\"bytes\":9007199254740992,\"packets\":9223372036854775811,\"errors\":0,\"dropped\":0,\"carrier_errors\":0,\"collisions\":0}}}",
            },
            Case {
                name: "a message without the usual attributes: ip's zero defaults",
                link: Link {
                    ifindex: 15,
                    link_type: 1,
                    ..Link::default()
                },
                json: "{\"ifindex\":15,\"ifname\":\"\",\"flags\":[],\"mtu\":0,\"operstate\":\"UNKNOWN\",\"linkmode\":\"DEFAULT\",\"group\":\"default\",\"txqlen\":0,\"link_type\":\"ether\"}",
            },
        ]
    }

    #[test]
    fn shapes_every_case_byte_for_byte() {
        let cases = cases();
        assert_eq!(cases.len(), 8);
        for case in cases {
            assert_eq!(shaped(&case.link), case.json, "case {}", case.name);
            // valid JSON whose keys come in the order written (serde_json keeps order here)
            let value: serde_json::Value = serde_json::from_str(case.json).unwrap_or_default();
            assert!(value.is_object(), "case {}", case.name);
        }
    }

    #[test]
    fn flags_in_iproute2_order_running_folded_no_carrier_when_up_without_it() {
        assert_eq!(
            flag_names(0x1 | 0x40 | 0x80 | 0x10000),
            ["NOARP", "UP", "LOWER_UP"]
        );
        assert_eq!(flag_names(0x80), ["NOARP"]);
        assert_eq!(flag_names(0x1 | 0x80), ["NO-CARRIER", "NOARP", "UP"]);
        assert_eq!(
            flag_names(0x8 | 0x1 | 0x40 | 0x10000),
            ["LOOPBACK", "UP", "LOWER_UP"]
        );
        assert_eq!(flag_names(0x2 | 0x1000), ["BROADCAST", "MULTICAST"]);
        assert_eq!(flag_names(0x80000), ["80000"]);
        assert_eq!(flag_names(0x40), Vec::<String>::new());
        // every IFF_* bit the kernel defines, RUNNING folded, the rest in hex
        assert_eq!(
            flag_names(0x7ffff | 0x8000_0000),
            [
                "LOOPBACK",
                "BROADCAST",
                "POINTOPOINT",
                "MULTICAST",
                "NOARP",
                "ALLMULTI",
                "PROMISC",
                "NOTRAILERS",
                "DEBUG",
                "DYNAMIC",
                "AUTOMEDIA",
                "PORTSEL",
                "MASTER",
                "SLAVE",
                "UP",
                "LOWER_UP",
                "DORMANT",
                "ECHO",
                "80000000"
            ]
        );
    }

    #[test]
    fn names_for_operstate_linkmode_and_link_type() {
        assert_eq!(named(&OPERSTATES, 0), "UNKNOWN");
        assert_eq!(named(&OPERSTATES, 2), "DOWN");
        assert_eq!(named(&OPERSTATES, 6), "UP");
        assert_eq!(named(&OPERSTATES, 7), "7");
        assert_eq!(named(&LINKMODES, 1), "DORMANT");
        assert_eq!(named(&LINKMODES, 3), "3");
        assert_eq!(link_type_name(824), "netlink");
        assert_eq!(link_type_name(772), "loopback");
        assert_eq!(link_type_name(1), "ether");
        assert_eq!(link_type_name(65534), "none");
        assert_eq!(link_type_name(9999), "[9999]");
    }
}
