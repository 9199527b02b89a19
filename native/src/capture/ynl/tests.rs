//! The interpreter against messages built by a library nobody here wrote (netlink-packet-route),
//! and against what must never happen (a panic, a dropped attribute).

use super::*;
use crate::netlink::testing::tlv;
use netlink_packet_core::Emitable;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::AddressFamily;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

const TO_KERNEL: Direction = Direction {
    request: true,
    unasked: false,
};

fn emit(m: &impl Emitable) -> Vec<u8> {
    let mut buf = vec![0; m.buffer_len()];
    m.emit(&mut buf);
    buf
}

fn must(d: Option<Decoded>) -> Decoded {
    d.unwrap_or_else(|| panic!("no spec decoded the message"))
}

fn fixed(d: &Decoded) -> &serde_json::Map<String, serde_json::Value> {
    d.fixed
        .as_ref()
        .unwrap_or_else(|| panic!("no fixed header in {d:?}"))
}

fn children(n: &Node) -> &[Node] {
    n.attrs
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no attributes", n.name))
}

fn find<'a>(attrs: &'a [Node], name: &str) -> &'a Node {
    attrs
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no {name} among {attrs:?}"))
}

#[test]
fn every_spec_compiles_and_the_issue_families_are_there() {
    let names: Vec<_> = spec_names().collect();
    for wanted in [
        "rt-link",
        "rt-addr",
        "rt-route",
        "rt-neigh",
        "rt-rule",
        "tc",
        "nlctrl",
        "nl80211",
        "devlink",
        "ethtool",
        "netdev",
        "team",
        "mptcp_pm",
        "handshake",
        "wireguard",
        "ovs_datapath",
        "conntrack",
        "nftables",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    for (i, spec) in SPECS.iter().enumerate() {
        let f = family_at(i);
        assert_eq!(f.name, spec.name);
        assert!(!f.attr_sets.is_empty(), "{}: no attribute sets", spec.name);
        assert!(
            !f.ops.is_empty() || spec.name == "builtin",
            "{}: no operations",
            spec.name
        );
    }
}

#[test]
fn a_link_message_built_by_netlink_packet_route() {
    let mut m = LinkMessage::default();
    m.header.index = 7;
    m.attributes = vec![
        LinkAttribute::IfName("dm0".into()),
        LinkAttribute::Mtu(1400),
        LinkAttribute::Address(vec![2, 0, 0, 0, 0, 9]),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
    ];
    let d = must(decode_raw(0, 16, TO_KERNEL, &emit(&m), false));
    assert_eq!((d.spec, d.op), ("rt-link", Some("newlink")));
    assert_eq!(fixed(&d)["ifi-index"], json!(7));
    assert_eq!(find(&d.attrs, "ifname").value, Some(json!("dm0")));
    assert_eq!(find(&d.attrs, "mtu").value, Some(json!(1400)));
    assert_eq!(
        find(&d.attrs, "address").value,
        Some(json!("02:00:00:00:00:09"))
    );
    let info = children(find(&d.attrs, "linkinfo"));
    assert_eq!(find(info, "kind").value, Some(json!("dummy")));
    // Wire order kept.
    let names: Vec<_> = d.attrs.iter().map(|n| n.name.as_ref()).collect();
    assert_eq!(names, ["ifname", "mtu", "address", "linkinfo"]);
}

#[test]
fn addresses_and_routes_by_their_display_hints() {
    let mut a = AddressMessage::default();
    a.header.family = AddressFamily::Inet;
    a.header.prefix_len = 24;
    a.header.index = 3;
    let ip = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
    a.attributes = vec![AddressAttribute::Address(ip), AddressAttribute::Local(ip)];
    let d = must(decode_raw(0, 20, TO_KERNEL, &emit(&a), false));
    assert_eq!(d.spec, "rt-addr");
    assert_eq!(fixed(&d)["ifa-prefixlen"], json!(24));
    assert_eq!(find(&d.attrs, "address").value, Some(json!("10.9.0.1")));

    let mut r = RouteMessage::default();
    r.header.address_family = AddressFamily::Inet;
    r.header.destination_prefix_length = 16;
    r.attributes = vec![
        RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 10, 0, 0))),
        RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(10, 9, 0, 2))),
        RouteAttribute::Oif(3),
    ];
    let d = must(decode_raw(0, 24, TO_KERNEL, &emit(&r), false));
    assert_eq!(d.spec, "rt-route");
    assert_eq!(find(&d.attrs, "dst").value, Some(json!("10.10.0.0")));
    assert_eq!(find(&d.attrs, "gateway").value, Some(json!("10.9.0.2")));
    assert_eq!(find(&d.attrs, "oif").value, Some(json!(3)));
}

#[test]
fn unknown_types_and_wrong_sizes_are_kept_as_bytes() {
    let mut payload = vec![0u8; 16]; // ifinfomsg
    payload.extend(tlv(4, &[0x78, 0x05])); // IFLA_MTU with 2 bytes instead of 4
    payload.extend(tlv(999, &[1, 2, 3]));
    let d = must(decode_raw(0, 16, TO_KERNEL, &payload, false));
    let mtu = find(&d.attrs, "mtu");
    assert_eq!(mtu.hex.as_deref(), Some("7805"));
    assert_eq!(mtu.error.as_deref(), Some("u32 needs 4 bytes, has 2"));
    let unknown = find(&d.attrs, "attr-999");
    assert!(unknown.unknown);
    assert_eq!(unknown.hex.as_deref(), Some("010203"));
}

#[test]
fn a_length_past_the_end_ends_the_walk_with_an_error() {
    let mut payload = vec![0u8; 16];
    payload.extend(tlv(3, b"ok\0"));
    payload.extend([200, 0, 4, 0, 1, 2, 3, 4]); // says 200 bytes, has 8
    let d = must(decode_raw(0, 16, TO_KERNEL, &payload, false));
    assert_eq!(d.attrs.len(), 2);
    assert!(d.attrs[1]
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("length 200"));
}

#[test]
fn nesting_is_bounded() {
    // IFLA_LINKINFO → IFLA_INFO_DATA is a sub-message; IFLA_AF_SPEC nests: build 5,000 levels
    // of IFLA_PROP_LIST-like nests of nests (type 26 = af-spec, then unknown types inside).
    let mut inner = tlv(1, &[0]);
    for _ in 0..5000 {
        if inner.len() > 60_000 {
            break;
        }
        inner = tlv(26, &inner);
    }
    let mut payload = vec![0u8; 16];
    payload.extend(inner);
    let d = must(decode_raw(0, 16, TO_KERNEL, &payload, false));
    assert!(serde_json::to_string(&d).is_ok());
}

#[test]
fn genl_by_family_name_and_command() {
    // nlctrl CTRL_CMD_GETFAMILY request with CTRL_ATTR_FAMILY_NAME "nl80211".
    let body = tlv(2, b"nl80211\0");
    let d = must(decode_genl("nlctrl", 3, TO_KERNEL, &body, false));
    assert_eq!((d.spec, d.op), ("nlctrl", Some("getfamily")));
    assert_eq!(find(&d.attrs, "family-name").value, Some(json!("nl80211")));
    // A command the spec does not list: read with the family's common set, no op named.
    let d = must(decode_genl("nlctrl", 200, TO_KERNEL, &body, false));
    assert_eq!(d.op, None);
    assert_eq!(d.attrs[0].name, "family-name");
    assert!(decode_genl("no-such-family", 1, TO_KERNEL, &body, false).is_none());
}

#[test]
fn a_big_endian_host_s_integers() {
    let mut payload = vec![0u8; 16];
    payload[4..8].copy_from_slice(&7u32.to_be_bytes()); // ifi_index
    let mut mtu = Vec::new();
    mtu.extend_from_slice(&8u16.to_be_bytes());
    mtu.extend_from_slice(&4u16.to_be_bytes());
    mtu.extend_from_slice(&1500u32.to_be_bytes());
    payload.extend(mtu);
    let d = must(decode_raw(0, 16, TO_KERNEL, &payload, true));
    assert_eq!(fixed(&d)["ifi-index"], json!(7));
    assert_eq!(find(&d.attrs, "mtu").value, Some(json!(1500)));
}

#[test]
fn extack_offsets_are_named_by_the_spec_s_c_names() {
    // nlctrl CTRL_CMD_GETFAMILY { CTRL_ATTR_FAMILY_NAME }: offsets count from the nlmsghdr's end.
    let mut payload = vec![3, 1, 0, 0];
    payload.extend(tlv(2, b"x\0"));
    let at = request_attr_at(16, 16, Some("nlctrl"), &payload, 4);
    assert_eq!(at.as_deref(), Some("CTRL_ATTR_FAMILY_NAME"));
    // ethtool ETHTOOL_MSG_LINKINFO_GET { HEADER { DEV_NAME } }: the default prefix of a set
    // without one is `<family>-a-<set>-`, as in the kernel's uapi header.
    let mut payload = vec![2, 1, 0, 0];
    payload.extend(tlv(1, &tlv(2, b"eth0\0")));
    let at = request_attr_at(16, 20, Some("ethtool"), &payload, 8);
    assert_eq!(
        at.as_deref(),
        Some("ETHTOOL_A_LINKINFO_HEADER/ETHTOOL_A_HEADER_DEV_NAME")
    );
    assert_eq!(request_attr_at(16, 20, Some("ethtool"), &payload, 9), None);
}
