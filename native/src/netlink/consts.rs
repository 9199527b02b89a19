//! Every netlink number the native layer uses, each defined in exactly one place: taken from
//! netlink-packet-core or libc where they define it, spelled out here only where neither does
//! (or not in the type the code needs).

// Framing (include/uapi/linux/netlink.h), from netlink-packet-core.
pub use netlink_packet_core::{
    NLA_F_NET_BYTEORDER, NLA_HEADER_SIZE as NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTIPART as NLM_F_MULTI,
    NLM_F_REQUEST,
};

/// `NLMSG_HDRLEN`: `sizeof(struct nlmsghdr)` (already 4-aligned), from libc's struct (neither
/// crate exports the constant itself).
pub const NLMSG_HDRLEN: usize = std::mem::size_of::<libc::nlmsghdr>();

// Link messages (include/uapi/linux/{rtnetlink,if_link}.h), from libc.
pub use libc::{
    IFLA_ALT_IFNAME, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO,
    IFLA_LINKMODE, IFLA_MAX_MTU, IFLA_MIN_MTU, IFLA_MTU, IFLA_OPERSTATE, IFLA_PROP_LIST,
    IFLA_QDISC, IFLA_STATS64, IFLA_TXQLEN, RTM_NEWLINK,
};

/// `sizeof(struct ifinfomsg)`: where a link message's attributes start (netlink-packet-route
/// keeps its own constant private).
pub const IFINFOMSG_LEN: usize = std::mem::size_of::<libc::ifinfomsg>();

/// Types below this are control messages (NOOP, ERROR, DONE, OVERRUN) in every family.
pub const NLMSG_MIN_TYPE: u16 = libc::NLMSG_MIN_TYPE as u16;
/// The generic netlink controller's fixed family id.
pub use netlink_packet_generic::constants::GENL_ID_CTRL;

// Netlink protocols, as the 16-bit sll_protocol of a captured packet carries them.
pub const NETLINK_ROUTE: u16 = libc::NETLINK_ROUTE as u16;
pub const NETLINK_SOCK_DIAG: u16 = libc::NETLINK_SOCK_DIAG as u16;
pub const NETLINK_XFRM: u16 = libc::NETLINK_XFRM as u16;
pub const NETLINK_NETFILTER: u16 = libc::NETLINK_NETFILTER as u16;
pub const NETLINK_GENERIC: u16 = libc::NETLINK_GENERIC as u16;

#[cfg(test)]
mod tests {
    use super::*;

    /// The values the kernel headers give: a libc or crate upgrade must not move them.
    #[test]
    fn values_match_the_kernel_headers() {
        assert_eq!((NLMSG_HDRLEN, IFINFOMSG_LEN), (16, 16));
        assert_eq!(NLA_HDRLEN, 4);
        assert_eq!(
            (NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN),
            (1, 2, 3, 4)
        );
        assert_eq!((NLM_F_CAPPED, NLM_F_ACK_TLVS), (0x100, 0x200));
        assert_eq!(RTM_NEWLINK, 16);
        assert_eq!(
            [
                IFLA_IFNAME,
                IFLA_MTU,
                IFLA_QDISC,
                IFLA_TXQLEN,
                IFLA_OPERSTATE,
                IFLA_LINKMODE,
                IFLA_LINKINFO,
                IFLA_IFALIAS,
                IFLA_STATS64,
                IFLA_GROUP,
                IFLA_MIN_MTU,
                IFLA_MAX_MTU,
                IFLA_PROP_LIST,
                IFLA_ALT_IFNAME,
            ],
            [3, 4, 6, 13, 16, 17, 18, 20, 23, 27, 50, 51, 52, 53]
        );
        assert_eq!(IFLA_INFO_KIND, 1);
        assert_eq!((NLMSG_MIN_TYPE, GENL_ID_CTRL), (16, 16));
        assert_eq!(
            [
                NETLINK_ROUTE,
                NETLINK_SOCK_DIAG,
                NETLINK_XFRM,
                NETLINK_NETFILTER,
                NETLINK_GENERIC
            ],
            [0, 4, 6, 12, 16]
        );
    }
}
