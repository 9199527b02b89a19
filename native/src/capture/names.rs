//! Names of netlink families, message types and flags (include/uapi/linux/{netlink,rtnetlink,
//! xfrm,sock_diag,netfilter/nfnetlink,genetlink}.h). Unknown values get a stable numeric name.

use std::borrow::Cow;

use crate::netlink::consts::{
    NETLINK_GENERIC, NETLINK_NETFILTER, NETLINK_ROUTE, NETLINK_SOCK_DIAG, NETLINK_XFRM, NLMSG_DONE,
    NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN,
};

const FAMILIES: &[(u16, &str)] = &[
    (0, "route"),
    (1, "unused"),
    (2, "usersock"),
    (3, "firewall"),
    (4, "sock_diag"),
    (5, "nflog"),
    (6, "xfrm"),
    (7, "selinux"),
    (8, "iscsi"),
    (9, "audit"),
    (10, "fib_lookup"),
    (11, "connector"),
    (12, "netfilter"),
    (13, "ip6_fw"),
    (14, "dnrtmsg"),
    (15, "kobject_uevent"),
    (16, "generic"),
    (18, "scsitransport"),
    (19, "ecryptfs"),
    (20, "rdma"),
    (21, "crypto"),
    (22, "smc"),
];

/// `route` for 0, `generic` for 16, `family_N` otherwise.
pub fn family_name(family: u16) -> Cow<'static, str> {
    FAMILIES.iter().find(|(id, _)| *id == family).map_or_else(
        || Cow::Owned(format!("family_{family}")),
        |(_, n)| Cow::Borrowed(*n),
    )
}

/// The inverse of `family_name`, also accepting numbers (for `--family`).
pub fn family_by_name(name: &str) -> Option<u16> {
    let name = name.trim().to_ascii_lowercase();
    if let Ok(number) = name.parse::<u16>() {
        return Some(number);
    }
    let alias = match name.as_str() {
        "rtnetlink" | "rtnl" => "route",
        "genl" | "genetlink" => "generic",
        "nfnetlink" | "nf" => "netfilter",
        "inet_diag" | "diag" => "sock_diag",
        other => other,
    };
    FAMILIES
        .iter()
        .find(|(_, n)| *n == alias)
        .map(|(id, _)| *id)
}

const RTM: &[(u16, &str)] = &[
    (16, "RTM_NEWLINK"),
    (17, "RTM_DELLINK"),
    (18, "RTM_GETLINK"),
    (19, "RTM_SETLINK"),
    (20, "RTM_NEWADDR"),
    (21, "RTM_DELADDR"),
    (22, "RTM_GETADDR"),
    (24, "RTM_NEWROUTE"),
    (25, "RTM_DELROUTE"),
    (26, "RTM_GETROUTE"),
    (28, "RTM_NEWNEIGH"),
    (29, "RTM_DELNEIGH"),
    (30, "RTM_GETNEIGH"),
    (32, "RTM_NEWRULE"),
    (33, "RTM_DELRULE"),
    (34, "RTM_GETRULE"),
    (36, "RTM_NEWQDISC"),
    (37, "RTM_DELQDISC"),
    (38, "RTM_GETQDISC"),
    (40, "RTM_NEWTCLASS"),
    (41, "RTM_DELTCLASS"),
    (42, "RTM_GETTCLASS"),
    (44, "RTM_NEWTFILTER"),
    (45, "RTM_DELTFILTER"),
    (46, "RTM_GETTFILTER"),
    (48, "RTM_NEWACTION"),
    (49, "RTM_DELACTION"),
    (50, "RTM_GETACTION"),
    (52, "RTM_NEWPREFIX"),
    (58, "RTM_GETMULTICAST"),
    (62, "RTM_GETANYCAST"),
    (64, "RTM_NEWNEIGHTBL"),
    (66, "RTM_GETNEIGHTBL"),
    (67, "RTM_SETNEIGHTBL"),
    (68, "RTM_NEWNDUSEROPT"),
    (72, "RTM_NEWADDRLABEL"),
    (73, "RTM_DELADDRLABEL"),
    (74, "RTM_GETADDRLABEL"),
    (78, "RTM_GETDCB"),
    (79, "RTM_SETDCB"),
    (80, "RTM_NEWNETCONF"),
    (81, "RTM_DELNETCONF"),
    (82, "RTM_GETNETCONF"),
    (84, "RTM_NEWMDB"),
    (85, "RTM_DELMDB"),
    (86, "RTM_GETMDB"),
    (88, "RTM_NEWNSID"),
    (89, "RTM_DELNSID"),
    (90, "RTM_GETNSID"),
    (92, "RTM_NEWSTATS"),
    (94, "RTM_GETSTATS"),
    (95, "RTM_SETSTATS"),
    (96, "RTM_NEWCACHEREPORT"),
    (100, "RTM_NEWCHAIN"),
    (101, "RTM_DELCHAIN"),
    (102, "RTM_GETCHAIN"),
    (104, "RTM_NEWNEXTHOP"),
    (105, "RTM_DELNEXTHOP"),
    (106, "RTM_GETNEXTHOP"),
    (108, "RTM_NEWLINKPROP"),
    (109, "RTM_DELLINKPROP"),
    (110, "RTM_GETLINKPROP"),
    (112, "RTM_NEWVLAN"),
    (113, "RTM_DELVLAN"),
    (114, "RTM_GETVLAN"),
    (116, "RTM_NEWNEXTHOPBUCKET"),
    (117, "RTM_DELNEXTHOPBUCKET"),
    (118, "RTM_GETNEXTHOPBUCKET"),
    (120, "RTM_NEWTUNNEL"),
    (121, "RTM_DELTUNNEL"),
    (122, "RTM_GETTUNNEL"),
];

const XFRM: &[(u16, &str)] = &[
    (16, "XFRM_MSG_NEWSA"),
    (17, "XFRM_MSG_DELSA"),
    (18, "XFRM_MSG_GETSA"),
    (19, "XFRM_MSG_NEWPOLICY"),
    (20, "XFRM_MSG_DELPOLICY"),
    (21, "XFRM_MSG_GETPOLICY"),
    (22, "XFRM_MSG_ALLOCSPI"),
    (23, "XFRM_MSG_ACQUIRE"),
    (24, "XFRM_MSG_EXPIRE"),
    (25, "XFRM_MSG_UPDPOLICY"),
    (26, "XFRM_MSG_UPDSA"),
    (27, "XFRM_MSG_POLEXPIRE"),
    (28, "XFRM_MSG_FLUSHSA"),
    (29, "XFRM_MSG_FLUSHPOLICY"),
    (30, "XFRM_MSG_NEWAE"),
    (31, "XFRM_MSG_GETAE"),
    (32, "XFRM_MSG_REPORT"),
    (33, "XFRM_MSG_MIGRATE"),
    (34, "XFRM_MSG_NEWSADINFO"),
    (35, "XFRM_MSG_GETSADINFO"),
    (36, "XFRM_MSG_NEWSPDINFO"),
    (37, "XFRM_MSG_GETSPDINFO"),
    (38, "XFRM_MSG_MAPPING"),
    (39, "XFRM_MSG_SETDEFAULT"),
    (40, "XFRM_MSG_GETDEFAULT"),
];

const SOCK_DIAG: &[(u16, &str)] = &[
    (18, "TCPDIAG_GETSOCK"),
    (19, "DCCPDIAG_GETSOCK"),
    (20, "SOCK_DIAG_BY_FAMILY"),
    (21, "SOCK_DESTROY"),
];

const NFNL_SUBSYS: &[(u16, &str)] = &[
    (0, "NONE"),
    (1, "CTNETLINK"),
    (2, "CTNETLINK_EXP"),
    (3, "QUEUE"),
    (4, "ULOG"),
    (5, "OSF"),
    (6, "IPSET"),
    (7, "ACCT"),
    (8, "CTNETLINK_TIMEOUT"),
    (9, "CTHELPER"),
    (10, "NFTABLES"),
    (11, "NFT_COMPAT"),
    (12, "HOOK"),
];

const NFT_MSG: &[(u16, &str)] = &[
    (0, "NFT_MSG_NEWTABLE"),
    (1, "NFT_MSG_GETTABLE"),
    (2, "NFT_MSG_DELTABLE"),
    (3, "NFT_MSG_NEWCHAIN"),
    (4, "NFT_MSG_GETCHAIN"),
    (5, "NFT_MSG_DELCHAIN"),
    (6, "NFT_MSG_NEWRULE"),
    (7, "NFT_MSG_GETRULE"),
    (8, "NFT_MSG_DELRULE"),
    (9, "NFT_MSG_NEWSET"),
    (10, "NFT_MSG_GETSET"),
    (11, "NFT_MSG_DELSET"),
    (12, "NFT_MSG_NEWSETELEM"),
    (13, "NFT_MSG_GETSETELEM"),
    (14, "NFT_MSG_DELSETELEM"),
    (15, "NFT_MSG_NEWGEN"),
    (16, "NFT_MSG_GETGEN"),
    (17, "NFT_MSG_TRACE"),
    (18, "NFT_MSG_NEWOBJ"),
    (19, "NFT_MSG_GETOBJ"),
    (20, "NFT_MSG_DELOBJ"),
    (21, "NFT_MSG_GETOBJ_RESET"),
    (22, "NFT_MSG_NEWFLOWTABLE"),
    (23, "NFT_MSG_GETFLOWTABLE"),
    (24, "NFT_MSG_DELFLOWTABLE"),
];

const CTNL_MSG: &[(u16, &str)] = &[
    (0, "IPCTNL_MSG_CT_NEW"),
    (1, "IPCTNL_MSG_CT_GET"),
    (2, "IPCTNL_MSG_CT_DELETE"),
    (3, "IPCTNL_MSG_CT_GET_CTRZERO"),
    (4, "IPCTNL_MSG_CT_GET_STATS_CPU"),
    (5, "IPCTNL_MSG_CT_GET_STATS"),
    (6, "IPCTNL_MSG_CT_GET_DYING"),
    (7, "IPCTNL_MSG_CT_GET_UNCONFIRMED"),
];

pub const CTRL_CMDS: &[(u8, &str)] = &[
    (1, "CTRL_CMD_NEWFAMILY"),
    (2, "CTRL_CMD_DELFAMILY"),
    (3, "CTRL_CMD_GETFAMILY"),
    (4, "CTRL_CMD_NEWOPS"),
    (5, "CTRL_CMD_DELOPS"),
    (6, "CTRL_CMD_GETOPS"),
    (7, "CTRL_CMD_NEWMCAST_GRP"),
    (8, "CTRL_CMD_DELMCAST_GRP"),
    (9, "CTRL_CMD_GETMCAST_GRP"),
    (10, "CTRL_CMD_GETPOLICY"),
];

fn lookup(table: &[(u16, &'static str)], value: u16) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

/// A NETLINK_SOCK_DIAG message type's name (the sock_diag decoder names its operation by it).
pub fn sock_diag_type(msg_type: u16) -> Option<&'static str> {
    lookup(SOCK_DIAG, msg_type)
}

/// The name of a message type. For generic netlink, `genl_name` resolves family ids.
pub fn type_name(family: u16, msg_type: u16, genl_name: impl Fn(u16) -> Option<String>) -> String {
    match msg_type {
        0 => return "NLMSG_0".into(),
        NLMSG_NOOP => return "NLMSG_NOOP".into(),
        NLMSG_ERROR => return "NLMSG_ERROR".into(),
        NLMSG_DONE => return "NLMSG_DONE".into(),
        NLMSG_OVERRUN => return "NLMSG_OVERRUN".into(),
        _ => {}
    }
    let known = match family {
        NETLINK_ROUTE => lookup(RTM, msg_type).map(str::to_string),
        NETLINK_XFRM => lookup(XFRM, msg_type).map(str::to_string),
        NETLINK_SOCK_DIAG => lookup(SOCK_DIAG, msg_type).map(str::to_string),
        NETLINK_NETFILTER => Some(netfilter_type_name(msg_type)),
        NETLINK_GENERIC => {
            Some(genl_name(msg_type).unwrap_or_else(|| format!("GENL_ID_{msg_type}")))
        }
        _ => None,
    };
    known.unwrap_or_else(|| format!("TYPE_{msg_type}"))
}

fn netfilter_type_name(msg_type: u16) -> String {
    match msg_type {
        16 => return "NFNL_MSG_BATCH_BEGIN".into(),
        17 => return "NFNL_MSG_BATCH_END".into(),
        _ => {}
    }
    let subsys = msg_type >> 8;
    let msg = msg_type & 0xff;
    let named = match subsys {
        10 => lookup(NFT_MSG, msg),
        1 => lookup(CTNL_MSG, msg),
        _ => None,
    };
    match (named, lookup(NFNL_SUBSYS, subsys)) {
        (Some(name), _) => name.to_string(),
        (None, Some(sub)) => format!("NFNL_{sub}_{msg}"),
        (None, None) => format!("NFNL_{subsys}_{msg}"),
    }
}

/// What the modifier bits (0x100–0x800) of `nlmsg_flags` mean for this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    Get,
    New,
    Del,
    Error,
    Other,
}

pub fn flag_kind(family: u16, msg_type: u16, type_name: &str, cmd_name: Option<&str>) -> FlagKind {
    if msg_type == NLMSG_ERROR || msg_type == NLMSG_DONE {
        return FlagKind::Error;
    }
    let name = cmd_name.unwrap_or(type_name);
    if family == NETLINK_SOCK_DIAG || name.contains("_GET") {
        FlagKind::Get
    } else if name.contains("_NEW") || name.contains("_SET") || name.contains("_UPD") {
        FlagKind::New
    } else if name.contains("_DEL") {
        FlagKind::Del
    } else {
        FlagKind::Other
    }
}

/// Flag names without the `NLM_F_` prefix, as in the kernel's macros; unknown bits in hex.
pub fn flag_names(flags: u16, kind: FlagKind) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = flags;
    let mut take = |bit: u16, name: &str, names: &mut Vec<String>| {
        if rest & bit == bit && bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    };
    take(0x1, "REQUEST", &mut names);
    take(0x2, "MULTI", &mut names);
    take(0x4, "ACK", &mut names);
    take(0x8, "ECHO", &mut names);
    take(0x10, "DUMP_INTR", &mut names);
    take(0x20, "DUMP_FILTERED", &mut names);
    match kind {
        FlagKind::Get => {
            take(0x300, "DUMP", &mut names);
            take(0x100, "ROOT", &mut names);
            take(0x200, "MATCH", &mut names);
            take(0x400, "ATOMIC", &mut names);
        }
        FlagKind::New => {
            take(0x100, "REPLACE", &mut names);
            take(0x200, "EXCL", &mut names);
            take(0x400, "CREATE", &mut names);
            take(0x800, "APPEND", &mut names);
        }
        FlagKind::Del => {
            take(0x100, "NONREC", &mut names);
            take(0x200, "BULK", &mut names);
        }
        FlagKind::Error => {
            take(0x100, "CAPPED", &mut names);
            take(0x200, "ACK_TLVS", &mut names);
        }
        FlagKind::Other => {}
    }
    if rest != 0 {
        names.push(format!("0x{rest:x}"));
    }
    names
}

pub fn ctrl_cmd_name(cmd: u8) -> Option<&'static str> {
    CTRL_CMDS.iter().find(|(c, _)| *c == cmd).map(|(_, n)| *n)
}

/// Direction from the packet type, when it says (PACKET_USER / PACKET_KERNEL); the nlmon tap
/// of the kernels measured here sets PACKET_OUTGOING (4) on everything, and the decoder then
/// infers it from NLM_F_REQUEST.
pub fn direction(pkttype: u16) -> &'static str {
    match pkttype {
        6 => "to-user",   // PACKET_USER
        7 => "to-kernel", // PACKET_KERNEL
        _ => "unknown",
    }
}

/// A message's direction: the packet type when it says, else inferred from the message's flags
/// (the kernel never sets NLM_F_REQUEST on what it sends; requests always carry it).
pub fn message_direction(pkttype: u16, flags: u16) -> &'static str {
    match direction(pkttype) {
        "unknown" if flags & 0x1 != 0 => "to-kernel",
        "unknown" => "to-user",
        known => known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(family_name(0), "route");
        assert_eq!(family_name(16), "generic");
        assert_eq!(family_name(99), "family_99");
        assert_eq!(family_by_name("route"), Some(0));
        assert_eq!(family_by_name("Generic"), Some(16));
        assert_eq!(family_by_name("genl"), Some(16));
        assert_eq!(family_by_name("12"), Some(12));
        assert_eq!(family_by_name("nope"), None);
    }

    #[test]
    fn types() {
        let none = |_| None;
        assert_eq!(type_name(0, 16, none), "RTM_NEWLINK");
        assert_eq!(type_name(0, 2, none), "NLMSG_ERROR");
        assert_eq!(type_name(16, 3, none), "NLMSG_DONE");
        assert_eq!(type_name(0, 999, none), "TYPE_999");
        assert_eq!(
            type_name(16, 16, |id| (id == 16).then(|| "nlctrl".into())),
            "nlctrl"
        );
        assert_eq!(type_name(16, 31, none), "GENL_ID_31");
        assert_eq!(type_name(12, (10 << 8) | 6, none), "NFT_MSG_NEWRULE");
        assert_eq!(type_name(12, 16, none), "NFNL_MSG_BATCH_BEGIN");
        assert_eq!(type_name(4, 20, none), "SOCK_DIAG_BY_FAMILY");
    }

    #[test]
    fn flags() {
        assert_eq!(
            flag_names(0x605, FlagKind::New),
            vec!["REQUEST", "ACK", "EXCL", "CREATE"]
        );
        assert_eq!(flag_names(0x301, FlagKind::Get), vec!["REQUEST", "DUMP"]);
        assert_eq!(flag_names(0x2, FlagKind::Other), vec!["MULTI"]);
        assert_eq!(
            flag_names(0x300, FlagKind::Error),
            vec!["CAPPED", "ACK_TLVS"]
        );
        assert_eq!(flag_names(0x8100, FlagKind::Other), vec!["0x8100"]);
        assert_eq!(flag_kind(0, 16, "RTM_NEWLINK", None), FlagKind::New);
        assert_eq!(
            flag_kind(16, 16, "nlctrl", Some("CTRL_CMD_GETFAMILY")),
            FlagKind::Get
        );
    }
}
