//! The N-API object types of the link exports, and their conversion into the plain Rust requests
//! (`link::LinkRef`, `link::NewLink`, `link::LinkAttrs`).
//!
//! Numbers arrive as JS numbers (f64): anything that is not an integer in 0..=u32::MAX cannot be
//! encoded in a u32 netlink attribute and is refused with `EARG`; every other value is sent as
//! given, for the kernel to judge.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::link::{self, LinkAttrs, NewLink};
use crate::netlink::error::{Error, Result};

/// Where to run: `netns` is a name under /run/netns, or a path if it contains a `/`.
#[napi(object)]
pub struct Target {
    pub netns: Option<String>,
}

/// A link by name or by index (exactly one).
#[napi(object)]
pub struct LinkRef {
    pub name: Option<String>,
    pub index: Option<f64>,
}

#[napi(object)]
pub struct CreateLinkRequest {
    pub name: Option<String>,
    /// Default "nlmon".
    pub kind: Option<String>,
    pub mtu: Option<f64>,
    pub txqlen: Option<f64>,
    pub group: Option<f64>,
    pub alias: Option<String>,
    pub up: Option<bool>,
    pub address: Option<Buffer>,
    pub broadcast: Option<Buffer>,
}

#[napi(object)]
pub struct LinkChange {
    pub up: Option<bool>,
    pub mtu: Option<f64>,
    pub name: Option<String>,
    /// "" clears the alias.
    pub alias: Option<String>,
    pub txqlen: Option<f64>,
    pub group: Option<f64>,
    pub address: Option<Buffer>,
    pub broadcast: Option<Buffer>,
}

/// A JS number that must fit a u32 attribute.
pub fn to_u32(field: &str, value: Option<f64>) -> Result<Option<u32>> {
    match value {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) => {
            Ok(Some(v as u32))
        }
        Some(v) => Err(Error::Arg(format!(
            "{field} must be an integer in 0..4294967295, got {v}"
        ))),
    }
}

pub fn netns_of(target: Option<Target>) -> Option<String> {
    target.and_then(|t| t.netns)
}

impl TryFrom<LinkRef> for link::LinkRef {
    type Error = Error;
    fn try_from(value: LinkRef) -> Result<Self> {
        match (value.name, to_u32("index", value.index)?) {
            (Some(name), None) => Ok(link::LinkRef::Name(name)),
            (None, Some(index)) => Ok(link::LinkRef::Index(index)),
            (Some(_), Some(_)) => Err(Error::Arg(
                "give a link's name or its index, not both".into(),
            )),
            (None, None) => Err(Error::Arg("give a link's name or its index".into())),
        }
    }
}

/// The one conversion of the eight settable attributes (a creation's are a change's plus a kind).
impl TryFrom<LinkChange> for LinkAttrs {
    type Error = Error;
    fn try_from(change: LinkChange) -> Result<Self> {
        Ok(LinkAttrs {
            name: change.name,
            mtu: to_u32("mtu", change.mtu)?,
            txqlen: to_u32("txqlen", change.txqlen)?,
            group: to_u32("group", change.group)?,
            alias: change.alias,
            up: change.up,
            address: change.address.map(|b| b.to_vec()),
            broadcast: change.broadcast.map(|b| b.to_vec()),
        })
    }
}

impl TryFrom<CreateLinkRequest> for NewLink {
    type Error = Error;
    fn try_from(req: CreateLinkRequest) -> Result<Self> {
        let CreateLinkRequest {
            name,
            kind,
            mtu,
            txqlen,
            group,
            alias,
            up,
            address,
            broadcast,
        } = req;
        let attrs = LinkChange {
            up,
            mtu,
            name,
            alias,
            txqlen,
            group,
            address,
            broadcast,
        };
        Ok(NewLink {
            kind: kind.unwrap_or_else(|| "nlmon".to_string()),
            attrs: LinkAttrs::try_from(attrs)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_conversion() {
        assert_eq!(to_u32("mtu", None), Ok(None));
        assert_eq!(to_u32("mtu", Some(0.0)), Ok(Some(0)));
        assert_eq!(to_u32("mtu", Some(2147483648.0)), Ok(Some(1 << 31)));
        assert_eq!(to_u32("mtu", Some(4294967295.0)), Ok(Some(u32::MAX)));
        for bad in [4294967296.0, -1.0, 1.5, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(to_u32("mtu", Some(bad)), Err(Error::Arg(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn link_refs() {
        let by_name = link::LinkRef::try_from(LinkRef {
            name: Some("lo".into()),
            index: None,
        });
        assert_eq!(by_name, Ok(link::LinkRef::Name("lo".into())));
        let by_index = link::LinkRef::try_from(LinkRef {
            name: None,
            index: Some(1.0),
        });
        assert_eq!(by_index, Ok(link::LinkRef::Index(1)));
        assert!(matches!(
            link::LinkRef::try_from(LinkRef {
                name: Some("lo".into()),
                index: Some(1.0)
            }),
            Err(Error::Arg(_))
        ));
        assert!(matches!(
            link::LinkRef::try_from(LinkRef {
                name: None,
                index: None
            }),
            Err(Error::Arg(_))
        ));
    }

    #[test]
    fn create_and_change_convert_alike() {
        let created = NewLink::try_from(CreateLinkRequest {
            name: Some("n%d".into()),
            kind: None,
            mtu: Some(3776.0),
            txqlen: Some(0.0),
            group: Some(4.0),
            alias: Some("a".into()),
            up: Some(true),
            address: None,
            broadcast: None,
        });
        let expected = LinkAttrs::new()
            .name("n%d")
            .mtu(3776)
            .txqlen(0)
            .group(4)
            .alias("a")
            .up(true);
        assert_eq!(
            created,
            Ok(NewLink {
                kind: "nlmon".into(),
                attrs: expected.clone(),
            })
        );
        let changed = LinkAttrs::try_from(LinkChange {
            up: Some(true),
            mtu: Some(3776.0),
            name: Some("n%d".into()),
            alias: Some("a".into()),
            txqlen: Some(0.0),
            group: Some(4.0),
            address: None,
            broadcast: None,
        });
        assert_eq!(changed, Ok(expected));
        assert!(matches!(
            NewLink::try_from(CreateLinkRequest {
                name: None,
                kind: Some("veth".into()),
                mtu: Some(-1.0),
                txqlen: None,
                group: None,
                alias: None,
                up: None,
                address: None,
                broadcast: None,
            }),
            Err(Error::Arg(_))
        ));
    }
}
