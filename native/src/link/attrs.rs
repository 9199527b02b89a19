//! The one attribute set a caller gives a link — at creation and in a change alike — and the one
//! place it becomes an rtnetlink link message.

use netlink_packet_core::{DefaultNla, Nla};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};

use crate::netlink::consts::IFLA_IFALIAS;
use crate::netlink::error::{Error, Result};

/// What a request sets on a link; `None` leaves a field alone (or to the kernel's default at
/// creation). Built field by field with the chained setters, or as a struct literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkAttrs {
    pub name: Option<String>,
    pub mtu: Option<u32>,
    pub txqlen: Option<u32>,
    pub group: Option<u32>,
    /// "" clears the alias.
    pub alias: Option<String>,
    /// Sent in ifi_flags/ifi_change, not as an attribute.
    pub up: Option<bool>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

/// createLink's request: the kind, and what to create it with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLink {
    pub kind: String,
    pub attrs: LinkAttrs,
}

impl LinkAttrs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    pub fn txqlen(mut self, txqlen: u32) -> Self {
        self.txqlen = Some(txqlen);
        self
    }

    pub fn group(mut self, group: u32) -> Self {
        self.group = Some(group);
        self
    }

    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    pub fn up(mut self, up: bool) -> Self {
        self.up = Some(up);
        self
    }

    pub fn address(mut self, address: impl Into<Vec<u8>>) -> Self {
        self.address = Some(address.into());
        self
    }

    pub fn broadcast(mut self, broadcast: impl Into<Vec<u8>>) -> Self {
        self.broadcast = Some(broadcast.into());
        self
    }

    /// The link message for ifindex `index` (0: none, e.g. by name or to create), with
    /// IFLA_LINKINFO { IFLA_INFO_KIND } when a kind is given (a creation, or a dump filter).
    /// Attributes go in one fixed order: IFNAME, LINKINFO, MTU, TXQLEN, GROUP, IFALIAS,
    /// ADDRESS, BROADCAST. Refuses (EARG) what does not fit a 16-bit nla_len.
    pub fn message(&self, index: u32, kind: Option<&str>) -> Result<LinkMessage> {
        let mut attributes = Vec::new();
        if let Some(name) = &self.name {
            attributes.push(LinkAttribute::IfName(name.clone()));
        }
        if let Some(kind) = kind {
            attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::from(kind),
            )]));
        }
        if let Some(mtu) = self.mtu {
            attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(txqlen) = self.txqlen {
            attributes.push(LinkAttribute::TxQueueLen(txqlen));
        }
        if let Some(group) = self.group {
            attributes.push(LinkAttribute::Group(group));
        }
        if let Some(alias) = &self.alias {
            attributes.push(alias_attribute(alias));
        }
        if let Some(address) = &self.address {
            attributes.push(LinkAttribute::Address(address.clone()));
        }
        if let Some(broadcast) = &self.broadcast {
            attributes.push(LinkAttribute::Broadcast(broadcast.clone()));
        }
        check_encodable(&attributes)?;
        let mut message = LinkMessage::default();
        message.header.index = index;
        if let Some(up) = self.up {
            message.header.change_mask = LinkFlags::Up;
            if up {
                message.header.flags = LinkFlags::Up;
            }
        }
        message.attributes = attributes;
        Ok(message)
    }
}

/// IFLA_IFALIAS without a trailing NUL, as iproute2 sends it: the kernel stores `nla_len` bytes
/// and refuses `len >= IFALIASZ`, so a NUL would make a 255-byte alias fail. "" clears the alias.
fn alias_attribute(alias: &str) -> LinkAttribute {
    LinkAttribute::Other(DefaultNla::new(IFLA_IFALIAS, alias.as_bytes().to_vec()))
}

/// Refuse attributes whose length does not fit the 16-bit nla_len.
fn check_encodable(attributes: &[LinkAttribute]) -> Result<()> {
    for attribute in attributes {
        if attribute.value_len() + 4 > usize::from(u16::MAX) {
            return Err(Error::Arg(format!(
                "attribute {} is {} bytes: too long for a netlink attribute",
                attribute.kind(),
                attribute.value_len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn encoded(attrs: &LinkAttrs, index: u32, kind: Option<&str>) -> Vec<u8> {
        let message = attrs.message(index, kind).unwrap_or_default();
        let mut bytes = vec![0u8; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    #[test]
    fn alias_is_sent_without_nul() {
        let bytes = encoded(&LinkAttrs::new().alias("abc"), 3, None);
        // header (16) + nla_len 7, type 20, "abc", one pad byte
        assert_eq!(&bytes[16..24], &[7, 0, 20, 0, b'a', b'b', b'c', 0]);
        let empty = encoded(&LinkAttrs::new().alias(""), 3, None);
        assert_eq!(&empty[16..], &[4, 0, 20, 0]);
    }

    #[test]
    fn up_and_down_flags() {
        let message = |attrs: LinkAttrs| attrs.message(5, None).unwrap_or_default();
        let up = message(LinkAttrs::new().up(true));
        assert_eq!(
            (up.header.flags, up.header.change_mask),
            (LinkFlags::Up, LinkFlags::Up)
        );
        let down = message(LinkAttrs::new().up(false));
        assert_eq!(
            (down.header.flags, down.header.change_mask),
            (LinkFlags::empty(), LinkFlags::Up)
        );
        let none = message(LinkAttrs::new());
        assert_eq!(none.header.change_mask, LinkFlags::empty());
        assert_eq!(none.header.index, 5);
    }

    /// One order for creation and change: IFNAME, LINKINFO, MTU, TXQLEN, GROUP, IFALIAS,
    /// ADDRESS, BROADCAST (what the two separate lists sent before, so extack offsets are kept).
    #[test]
    fn attribute_order() {
        let all = LinkAttrs::new()
            .broadcast([0xff; 6])
            .address([2, 0, 0, 0, 0, 1])
            .alias("a")
            .group(4)
            .txqlen(12)
            .mtu(1400)
            .up(true)
            .name("n0");
        let kinds = |kind| {
            all.message(0, kind)
                .map(|m| m.attributes.iter().map(Nla::kind).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(kinds(Some("nlmon")), [3, 18, 4, 13, 27, 20, 1, 2]);
        assert_eq!(kinds(None), [3, 4, 13, 27, 20, 1, 2]);
        // a dump filter by kind: IFLA_LINKINFO alone
        let filter = LinkAttrs::new()
            .message(0, Some("veth"))
            .unwrap_or_default();
        assert_eq!(filter.attributes.len(), 1);
        assert_eq!(filter.attributes[0].kind(), 18);
    }

    #[test]
    fn oversized_attributes_are_refused() {
        let long = "x".repeat(70_000);
        assert!(matches!(
            LinkAttrs::new().alias(long.clone()).message(1, None),
            Err(Error::Arg(_))
        ));
        assert!(matches!(
            LinkAttrs::new().name(long.clone()).message(1, None),
            Err(Error::Arg(_))
        ));
        assert!(matches!(
            LinkAttrs::new().message(0, Some(&long)),
            Err(Error::Arg(_))
        ));
        let fits = "x".repeat(65_531);
        assert!(LinkAttrs::new().alias(fits).message(1, None).is_ok());
    }
}
