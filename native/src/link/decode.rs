//! The one decoder of a link message (the payload of an RTM_NEWLINK, or of a captured link
//! request): the header, then attribute by attribute in place with netlink-packet-core's
//! iterator and parsers. Strings are borrowed from the message; nothing is allocated, so a
//! 10,000-link dump is read at the speed of the bytes. Only the attributes a link is shown with
//! (and its altnames) are read; IFLA_AF_SPEC, IFLA_STATS and the rest are most of a message's
//! bytes and are skipped unparsed.
//!
//! Lenient like `ip`: an attribute that cannot be read is left out (and noted in `malformed`),
//! the others are still read.

use std::fmt;

use netlink_packet_core::{parse_u32, parse_u8, DecodeError, NlaBuffer, NlasIterator};
use netlink_packet_route::link::{LinkHeader, Stats64};

use crate::netlink::consts::{
    IFINFOMSG_LEN, IFLA_ALT_IFNAME, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_KIND,
    IFLA_LINKINFO, IFLA_LINKMODE, IFLA_MAX_MTU, IFLA_MIN_MTU, IFLA_MTU, IFLA_OPERSTATE,
    IFLA_PROP_LIST, IFLA_QDISC, IFLA_STATS64, IFLA_TXQLEN,
};

/// One link as its message carries it; absent attributes are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Link<'a> {
    pub ifindex: u32,
    /// Raw ifi_flags (IFF_*).
    pub flags: u32,
    /// ifi_type (ARPHRD_*; 824 = netlink).
    pub link_type: u16,
    pub ifname: Option<&'a str>,
    /// IFLA_LINKINFO / IFLA_INFO_KIND; absent for lo and physical NICs.
    pub kind: Option<&'a str>,
    /// IF_OPER_*.
    pub operstate: Option<u8>,
    pub linkmode: Option<u8>,
    pub mtu: Option<u32>,
    pub min_mtu: Option<u32>,
    pub max_mtu: Option<u32>,
    pub txqlen: Option<u32>,
    pub group: Option<u32>,
    pub ifalias: Option<&'a str>,
    pub qdisc: Option<&'a str>,
    pub stats64: Option<Stats64>,
    /// IFLA_PROP_LIST's value, unread until `alt_names` walks it.
    pub prop_list: &'a [u8],
    /// The first attribute that could not be read, if any.
    pub malformed: Option<Malformed>,
}

/// What could not be read in a link message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// An attribute header runs past the message; nothing after it was read.
    Framing,
    /// This attribute's value has the wrong size or is not UTF-8.
    Value(u16),
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Framing => f.write_str("bad attribute"),
            Malformed::Value(kind) => write!(f, "attribute {kind} has a bad value"),
        }
    }
}

impl<'a> Link<'a> {
    /// IFLA_ALT_IFNAME entries of IFLA_PROP_LIST.
    pub fn alt_names(&self) -> impl Iterator<Item = &'a str> {
        NlasIterator::new(self.prop_list)
            .map_while(Result::ok)
            .filter(|nla| nla.kind() == IFLA_ALT_IFNAME)
            .filter_map(|nla| text(value_of(nla)))
    }

    fn note(&mut self, problem: Malformed) {
        self.malformed.get_or_insert(problem);
    }
}

/// Read one link message. Fails only when the payload is too short for `struct ifinfomsg`.
pub fn read(payload: &[u8]) -> Result<Link<'_>, DecodeError> {
    let header = LinkHeader::parse(payload)?;
    let mut link = Link {
        ifindex: header.index,
        flags: header.flags.bits(),
        link_type: u16::from(header.link_layer_type),
        ..Link::default()
    };
    for nla in NlasIterator::new(payload.get(IFINFOMSG_LEN..).unwrap_or(&[])) {
        let Ok(nla) = nla else {
            link.note(Malformed::Framing);
            break;
        };
        let kind = nla.kind();
        let value = value_of(nla);
        let read = match kind {
            IFLA_IFNAME => text(value).map(|v| link.ifname = Some(v)),
            IFLA_MTU => u32_of(value).map(|v| link.mtu = Some(v)),
            IFLA_QDISC => text(value).map(|v| link.qdisc = Some(v)),
            IFLA_TXQLEN => u32_of(value).map(|v| link.txqlen = Some(v)),
            IFLA_OPERSTATE => parse_u8(value).ok().map(|v| link.operstate = Some(v)),
            IFLA_LINKMODE => parse_u8(value).ok().map(|v| link.linkmode = Some(v)),
            IFLA_IFALIAS => text(value).map(|v| link.ifalias = Some(v)),
            IFLA_GROUP => u32_of(value).map(|v| link.group = Some(v)),
            IFLA_MIN_MTU => u32_of(value).map(|v| link.min_mtu = Some(v)),
            IFLA_MAX_MTU => u32_of(value).map(|v| link.max_mtu = Some(v)),
            IFLA_STATS64 => Stats64::parse(value).ok().map(|v| link.stats64 = Some(v)),
            IFLA_PROP_LIST => {
                link.prop_list = value;
                Some(())
            }
            // Only the kind: IFLA_INFO_DATA is the driver's own (and may not parse at all).
            IFLA_LINKINFO => match NlasIterator::new(value)
                .map_while(Result::ok)
                .find(|inner| inner.kind() == IFLA_INFO_KIND)
            {
                Some(inner) => text(value_of(inner)).map(|v| link.kind = Some(v)),
                None => Some(()),
            },
            _ => Some(()),
        };
        if read.is_none() {
            link.note(Malformed::Value(kind));
        }
    }
    Ok(link)
}

fn u32_of(value: &[u8]) -> Option<u32> {
    parse_u32(value).ok()
}

/// An attribute's value, borrowed from the message rather than from the NlaBuffer.
fn value_of(nla: NlaBuffer<&[u8]>) -> &[u8] {
    let end = usize::from(nla.length());
    nla.into_inner().get(4..end).unwrap_or(&[])
}

/// A string attribute as netlink-packet-core's parse_string reads it (one trailing NUL dropped),
/// borrowed; None when it is not UTF-8.
fn text(value: &[u8]) -> Option<&str> {
    std::str::from_utf8(value.strip_suffix(&[0]).unwrap_or(value)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{DefaultNla, Emitable, Parseable};
    use netlink_packet_route::link::{
        InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage, LinkMode, Prop,
        State,
    };

    fn encoded(message: &LinkMessage) -> Vec<u8> {
        let mut bytes = vec![0u8; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    /// Every attribute the decoder reads, written by netlink-packet-route's own encoder.
    #[test]
    fn reads_what_netlink_packet_route_writes() {
        let mut stats = Stats64::default();
        stats.rx_bytes = u64::MAX;
        stats.tx_packets = (1 << 53) + 1;
        stats.rx_nohandler = 7;
        let mut message = LinkMessage::default();
        message.header.index = 9;
        message.header.flags = LinkFlags::Up | LinkFlags::Running | LinkFlags::Noarp;
        message.header.link_layer_type = LinkLayerType::Netlink;
        message.attributes = vec![
            LinkAttribute::IfName("nlmon0".into()),
            LinkAttribute::Mtu(3776),
            LinkAttribute::MinMtu(16),
            LinkAttribute::MaxMtu(0),
            LinkAttribute::TxQueueLen(0),
            LinkAttribute::Group(4),
            LinkAttribute::Qdisc("noqueue".into()),
            LinkAttribute::OperState(State::Unknown),
            LinkAttribute::Mode(LinkMode::Dormant),
            LinkAttribute::IfAlias("an alias".into()),
            LinkAttribute::Stats64(stats),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Nlmon)]),
            LinkAttribute::PropList(vec![
                Prop::AltIfName("first-alt".into()),
                Prop::AltIfName("second-alt".into()),
            ]),
        ];
        let bytes = encoded(&message);
        let link = match read(&bytes) {
            Ok(link) => link,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            link,
            Link {
                ifindex: 9,
                flags: 0x1 | 0x40 | 0x80,
                link_type: 824,
                ifname: Some("nlmon0"),
                kind: Some("nlmon"),
                operstate: Some(0),
                linkmode: Some(1),
                mtu: Some(3776),
                min_mtu: Some(16),
                max_mtu: Some(0),
                txqlen: Some(0),
                group: Some(4),
                ifalias: Some("an alias"),
                qdisc: Some("noqueue"),
                stats64: Some(stats),
                prop_list: link.prop_list,
                malformed: None,
            }
        );
        assert_eq!(
            link.alt_names().collect::<Vec<_>>(),
            ["first-alt", "second-alt"]
        );
        // and the crate's own full decode agrees that this is a well-formed message
        assert!(LinkMessage::parse(&bytes[..]).is_ok());
    }

    #[test]
    fn absent_attributes_stay_absent() {
        let mut message = LinkMessage::default();
        message.header.index = 3;
        let bytes = encoded(&message);
        let link = read(&bytes).unwrap_or_default();
        assert_eq!(
            link,
            Link {
                ifindex: 3,
                ..Link::default()
            }
        );
        assert_eq!(link.alt_names().count(), 0);
    }

    #[test]
    fn keeps_kind_when_info_data_is_garbage() {
        // IFLA_LINKINFO { KIND "bridge", DATA { garbage } }: the crate's strict decode fails on
        // the data; the kind must survive.
        let mut link = LinkMessage::default();
        link.header.index = 4;
        let data = DefaultNla::new(2, vec![3, 0, 1]); // nested NLA with a bad length
        let kind = InfoKind::Bridge;
        let mut nested = vec![0u8; kind.buffer_len() + data.buffer_len()];
        kind.emit(&mut nested);
        data.emit(&mut nested[kind.buffer_len()..]);
        link.attributes = vec![
            LinkAttribute::IfName("br0".into()),
            LinkAttribute::Other(DefaultNla::new(IFLA_LINKINFO, nested)),
        ];
        let bytes = encoded(&link);
        assert!(
            LinkMessage::parse(&bytes[..]).is_err(),
            "the strict decode should fail here"
        );
        let decoded = read(&bytes).unwrap_or_default();
        assert_eq!(decoded.ifname, Some("br0"));
        assert_eq!(decoded.kind, Some("bridge"));
        assert_eq!(decoded.malformed, None);
    }

    #[test]
    fn bad_values_are_left_out_and_noted() {
        let mut message = LinkMessage::default();
        message.attributes = vec![
            LinkAttribute::Other(DefaultNla::new(IFLA_MTU, vec![1, 2])), // 2 bytes, not 4
            LinkAttribute::Other(DefaultNla::new(IFLA_IFNAME, vec![0xff, 0xfe, 0])),
            LinkAttribute::TxQueueLen(5),
        ];
        let bytes = encoded(&message);
        let link = read(&bytes).unwrap_or_default();
        assert_eq!((link.mtu, link.ifname, link.txqlen), (None, None, Some(5)));
        assert_eq!(link.malformed, Some(Malformed::Value(IFLA_MTU)));
        // an attribute header that runs past the end stops the walk
        let mut bytes = bytes.clone();
        bytes.extend_from_slice(&[200, 0, 3, 0, b'x']);
        let link = read(&bytes).unwrap_or_default();
        assert_eq!(link.txqlen, Some(5));
        assert_eq!(link.malformed, Some(Malformed::Value(IFLA_MTU)));
        let mut framing = vec![0u8; 16];
        framing.extend_from_slice(&[200, 0, 3, 0, b'x']);
        assert_eq!(
            read(&framing).ok().and_then(|l| l.malformed),
            Some(Malformed::Framing)
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            if let Ok(link) = read(&bytes) {
                let _ = link.alt_names().count();
            }
        }
        assert!(read(&[1, 2, 3]).is_err());
    }
}
