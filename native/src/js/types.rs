//! The JavaScript-facing object shapes, and their conversion into plain Rust requests.
//!
//! Numbers arrive as JS numbers (f64): anything that is not an integer in 0..=u32::MAX cannot be
//! encoded in a u32 netlink attribute and is refused with `EARG`; every other value is sent as
//! given, for the kernel to judge.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::link::{Change, LinkRef as RustLinkRef, NewLink};
use crate::netlink::error::{Error, Result};

/// struct rtnl_link_stats64 (counters as JS numbers, exact below 2^53).
#[napi(object)]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stats64 {
    pub rx_packets: f64,
    pub tx_packets: f64,
    pub rx_bytes: f64,
    pub tx_bytes: f64,
    pub rx_errors: f64,
    pub tx_errors: f64,
    pub rx_dropped: f64,
    pub tx_dropped: f64,
    pub multicast: f64,
    pub collisions: f64,
    pub rx_length_errors: f64,
    pub rx_over_errors: f64,
    pub rx_crc_errors: f64,
    pub rx_frame_errors: f64,
    pub rx_fifo_errors: f64,
    pub rx_missed_errors: f64,
    pub tx_aborted_errors: f64,
    pub tx_carrier_errors: f64,
    pub tx_fifo_errors: f64,
    pub tx_heartbeat_errors: f64,
    pub tx_window_errors: f64,
    pub rx_compressed: f64,
    pub tx_compressed: f64,
    pub rx_nohandler: f64,
}

/// One link as the kernel reports it (RTM_NEWLINK).
#[napi(object)]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkInfo {
    pub ifindex: u32,
    pub ifname: String,
    /// IFLA_LINKINFO/IFLA_INFO_KIND; absent for lo and physical NICs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Raw ifi_flags (IFF_*).
    pub flags: u32,
    /// Raw IFLA_OPERSTATE (IF_OPER_*).
    pub operstate: u32,
    /// Raw IFLA_LINKMODE.
    pub linkmode: u32,
    pub mtu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_mtu: Option<u32>,
    pub txqlen: u32,
    pub group: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifalias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qdisc: Option<String>,
    /// ifi_type (ARPHRD_*; 824 = netlink).
    pub link_type: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats64: Option<Stats64>,
}

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

impl TryFrom<LinkRef> for RustLinkRef {
    type Error = Error;
    fn try_from(value: LinkRef) -> Result<Self> {
        match (value.name, to_u32("index", value.index)?) {
            (Some(name), None) => Ok(RustLinkRef::Name(name)),
            (None, Some(index)) => Ok(RustLinkRef::Index(index)),
            (Some(_), Some(_)) => Err(Error::Arg(
                "give a link's name or its index, not both".into(),
            )),
            (None, None) => Err(Error::Arg("give a link's name or its index".into())),
        }
    }
}

impl TryFrom<CreateLinkRequest> for NewLink {
    type Error = Error;
    fn try_from(req: CreateLinkRequest) -> Result<Self> {
        Ok(NewLink {
            name: req.name,
            kind: req.kind.unwrap_or_else(|| "nlmon".to_string()),
            mtu: to_u32("mtu", req.mtu)?,
            txqlen: to_u32("txqlen", req.txqlen)?,
            group: to_u32("group", req.group)?,
            alias: req.alias,
            up: req.up,
            address: req.address.map(|b| b.to_vec()),
            broadcast: req.broadcast.map(|b| b.to_vec()),
        })
    }
}

impl TryFrom<LinkChange> for Change {
    type Error = Error;
    fn try_from(change: LinkChange) -> Result<Self> {
        Ok(Change {
            up: change.up,
            mtu: to_u32("mtu", change.mtu)?,
            name: change.name,
            alias: change.alias,
            txqlen: to_u32("txqlen", change.txqlen)?,
            group: to_u32("group", change.group)?,
            address: change.address.map(|b| b.to_vec()),
            broadcast: change.broadcast.map(|b| b.to_vec()),
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
        let by_name = RustLinkRef::try_from(LinkRef {
            name: Some("lo".into()),
            index: None,
        });
        assert_eq!(by_name, Ok(RustLinkRef::Name("lo".into())));
        let by_index = RustLinkRef::try_from(LinkRef {
            name: None,
            index: Some(1.0),
        });
        assert_eq!(by_index, Ok(RustLinkRef::Index(1)));
        assert!(matches!(
            RustLinkRef::try_from(LinkRef {
                name: Some("lo".into()),
                index: Some(1.0)
            }),
            Err(Error::Arg(_))
        ));
        assert!(matches!(
            RustLinkRef::try_from(LinkRef {
                name: None,
                index: None
            }),
            Err(Error::Arg(_))
        ));
    }
}
