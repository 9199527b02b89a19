//! rtnetlink requests for links: create, get, list, set, delete, and the conversion of a
//! kernel link message into the JS `LinkInfo`.

use std::collections::HashSet;

use netlink_packet_core::{
    parse_u32, parse_u8, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized, NLM_F_CREATE, NLM_F_EXCL,
};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkHeader, LinkInfo as NlLinkInfo, LinkMessage, Prop,
    Stats64,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::ip_json::{self, ShownLink};
use crate::js;
use crate::naming::{self, NamePlan};
use crate::netlink::consts::{
    IFINFOMSG_LEN as LINK_HEADER_LEN, IFLA_GROUP, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_KIND,
    IFLA_LINKINFO, IFLA_LINKMODE, IFLA_MAX_MTU, IFLA_MIN_MTU, IFLA_MTU, IFLA_OPERSTATE, IFLA_QDISC,
    IFLA_STATS64, IFLA_TXQLEN, RTM_NEWLINK,
};
use crate::netlink::error::{Error, Result};
use crate::netlink::socket::{NlSocket, Reply};

/// How often createLink retries a pattern name after losing a race (EEXIST).
pub const NAME_ATTEMPTS: usize = 256;

/// A link by name or by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRef {
    Name(String),
    Index(u32),
}

/// createLink's request, already converted from JS.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    pub name: Option<String>,
    pub kind: String,
    pub mtu: Option<u32>,
    pub txqlen: Option<u32>,
    pub group: Option<u32>,
    pub alias: Option<String>,
    pub up: Option<bool>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

/// setLink's change, already converted from JS.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub name: Option<String>,
    pub alias: Option<String>,
    pub txqlen: Option<u32>,
    pub group: Option<u32>,
    pub address: Option<Vec<u8>>,
    pub broadcast: Option<Vec<u8>>,
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decode an RTM_NEWLINK payload. If the full decode fails (an attribute this crate version
/// cannot parse), keep every attribute that does parse, and at least the kind from IFLA_LINKINFO.
pub fn decode_link(payload: &[u8], op: &'static str) -> Result<LinkMessage> {
    if let Ok(message) = LinkMessage::parse(payload) {
        return Ok(message);
    }
    decode_attributes(payload, op, |_| true)
}

/// The header, then attribute by attribute with netlink-packet-route's parsers, those that `keep`
/// names; one that does not parse is left out (IFLA_LINKINFO is reduced to its kind).
fn decode_attributes(
    payload: &[u8],
    op: &'static str,
    keep: impl Fn(u16) -> bool,
) -> Result<LinkMessage> {
    let header = LinkHeader::parse(payload)
        .map_err(|e| Error::proto(op, format!("bad link message header: {e}")))?;
    let family = header.interface_family;
    let mut attributes = Vec::new();
    for nla in NlasIterator::new(payload.get(LINK_HEADER_LEN..).unwrap_or(&[])) {
        let Ok(nla) = nla else { break };
        if !keep(nla.kind()) {
            continue;
        }
        match LinkAttribute::parse_with_param(&nla, family) {
            Ok(attribute) => attributes.push(attribute),
            Err(_) if nla.kind() == IFLA_LINKINFO => attributes.push(kind_only(nla.value())),
            Err(_) => {}
        }
    }
    let mut message = LinkMessage::default();
    message.header = header;
    message.attributes = attributes;
    Ok(message)
}

fn links_of(replies: Vec<Reply>, op: &'static str) -> Result<Vec<LinkMessage>> {
    replies
        .into_iter()
        .filter(|reply| reply.header.message_type == RTM_NEWLINK)
        .map(|reply| decode_link(&reply.payload, op))
        .collect()
}

pub fn name_of(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

pub fn kind_of(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            NlLinkInfo::Kind(kind) => Some(kind.to_string()),
            _ => None,
        }),
        _ => None,
    })
}

fn alt_names_of(link: &LinkMessage) -> impl Iterator<Item = &str> {
    link.attributes.iter().flat_map(|a| match a {
        LinkAttribute::PropList(props) => props
            .iter()
            .filter_map(|p| match p {
                Prop::AltIfName(name) => Some(name.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

fn counter(value: u64) -> f64 {
    value as f64
}

/// The JS view of a link message.
pub fn to_js(link: &LinkMessage) -> js::LinkInfo {
    let mut info = js::LinkInfo {
        ifindex: link.header.index,
        flags: link.header.flags.bits(),
        link_type: u32::from(u16::from(link.header.link_layer_type)),
        ..js::LinkInfo::default()
    };
    info.kind = kind_of(link);
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.ifname = name.clone(),
            LinkAttribute::OperState(state) => info.operstate = u32::from(u8::from(*state)),
            LinkAttribute::Mode(mode) => info.linkmode = u32::from(u8::from(*mode)),
            LinkAttribute::Mtu(mtu) => info.mtu = *mtu,
            LinkAttribute::MinMtu(mtu) => info.min_mtu = Some(*mtu),
            LinkAttribute::MaxMtu(mtu) => info.max_mtu = Some(*mtu),
            LinkAttribute::TxQueueLen(len) => info.txqlen = *len,
            LinkAttribute::Group(group) => info.group = *group,
            LinkAttribute::IfAlias(alias) => info.ifalias = Some(alias.clone()),
            LinkAttribute::Qdisc(qdisc) => info.qdisc = Some(qdisc.clone()),
            LinkAttribute::Stats64(s) => {
                info.stats64 = Some(js::Stats64 {
                    rx_packets: counter(s.rx_packets),
                    tx_packets: counter(s.tx_packets),
                    rx_bytes: counter(s.rx_bytes),
                    tx_bytes: counter(s.tx_bytes),
                    rx_errors: counter(s.rx_errors),
                    tx_errors: counter(s.tx_errors),
                    rx_dropped: counter(s.rx_dropped),
                    tx_dropped: counter(s.tx_dropped),
                    multicast: counter(s.multicast),
                    collisions: counter(s.collisions),
                    rx_length_errors: counter(s.rx_length_errors),
                    rx_over_errors: counter(s.rx_over_errors),
                    rx_crc_errors: counter(s.rx_crc_errors),
                    rx_frame_errors: counter(s.rx_frame_errors),
                    rx_fifo_errors: counter(s.rx_fifo_errors),
                    rx_missed_errors: counter(s.rx_missed_errors),
                    tx_aborted_errors: counter(s.tx_aborted_errors),
                    tx_carrier_errors: counter(s.tx_carrier_errors),
                    tx_fifo_errors: counter(s.tx_fifo_errors),
                    tx_heartbeat_errors: counter(s.tx_heartbeat_errors),
                    tx_window_errors: counter(s.tx_window_errors),
                    rx_compressed: counter(s.rx_compressed),
                    tx_compressed: counter(s.tx_compressed),
                    rx_nohandler: counter(s.rx_nohandler),
                })
            }
            _ => {}
        }
    }
    info
}

// ---------------------------------------------------------------------------------------------
// Encoding

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

fn message(index: u32, up: Option<bool>, attributes: Vec<LinkAttribute>) -> Result<LinkMessage> {
    check_encodable(&attributes)?;
    let mut message = LinkMessage::default();
    message.header.index = index;
    if let Some(up) = up {
        message.header.change_mask = LinkFlags::Up;
        if up {
            message.header.flags = LinkFlags::Up;
        }
    }
    message.attributes = attributes;
    debug_assert!(message.buffer_len() > 0);
    Ok(message)
}

fn change_attributes(change: &Change) -> Vec<LinkAttribute> {
    let mut attributes = Vec::new();
    if let Some(name) = &change.name {
        attributes.push(LinkAttribute::IfName(name.clone()));
    }
    if let Some(mtu) = change.mtu {
        attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(txqlen) = change.txqlen {
        attributes.push(LinkAttribute::TxQueueLen(txqlen));
    }
    if let Some(group) = change.group {
        attributes.push(LinkAttribute::Group(group));
    }
    if let Some(alias) = &change.alias {
        attributes.push(alias_attribute(alias));
    }
    if let Some(address) = &change.address {
        attributes.push(LinkAttribute::Address(address.clone()));
    }
    if let Some(broadcast) = &change.broadcast {
        attributes.push(LinkAttribute::Broadcast(broadcast.clone()));
    }
    attributes
}

// ---------------------------------------------------------------------------------------------
// Requests

/// RTM_GETLINK for one link: by ifi_index, or by IFLA_IFNAME (accepted in strict mode).
pub fn get(sock: &mut NlSocket, link: &LinkRef) -> Result<LinkMessage> {
    const OP: &str = "RTM_GETLINK";
    let request = match link {
        LinkRef::Index(index) => message(*index, None, Vec::new())?,
        LinkRef::Name(name) => message(0, None, vec![LinkAttribute::IfName(name.clone())])?,
    };
    let replies = sock.request(RouteNetlinkMessage::GetLink(request), 0, OP)?;
    links_of(replies, OP)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::proto(OP, "no RTM_NEWLINK in the reply"))
}

/// RTM_GETLINK dump; with `kind`, the kernel filters by IFLA_LINKINFO kind (when it knows the
/// kind) and we filter again here (it does not filter for kinds it has no driver for).
/// RTM_GETLINK dump request, filtered by kind in the kernel when one is given (the kernel
/// ignores the filter for a kind it has no driver for: callers filter again).
fn list_request(kind: Option<&str>) -> Result<LinkMessage> {
    let mut request = LinkMessage::default();
    if let Some(kind) = kind {
        request.attributes = vec![LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
            InfoKind::from(kind),
        )])];
    }
    check_encodable(&request.attributes)?;
    Ok(request)
}

pub fn list(sock: &mut NlSocket, kind: Option<&str>) -> Result<Vec<LinkMessage>> {
    const OP: &str = "RTM_GETLINK";
    let request = list_request(kind)?;
    let replies = sock.dump(|| RouteNetlinkMessage::GetLink(request.clone()), OP)?;
    let mut links = links_of(replies, OP)?;
    if let Some(kind) = kind {
        links.retain(|link| kind_of(link).as_deref() == Some(kind));
    }
    Ok(links)
}

/// The attributes `to_js` reads; `list_json` parses no other (IFLA_AF_SPEC, IFLA_STATS and
/// the rest are most of a link message's bytes and decoding time).
const SHOWN_ATTRIBUTES: [u16; 12] = [
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
];

/// Decode only what `to_js` shows, attribute by attribute with netlink-packet-route's parsers.
fn decode_shown(payload: &[u8], op: &'static str) -> Result<LinkMessage> {
    decode_attributes(payload, op, |kind| SHOWN_ATTRIBUTES.contains(&kind))
}

/// IFLA_LINKINFO reduced to its kind, for a kind whose data this crate version cannot parse.
fn kind_only(linkinfo: &[u8]) -> LinkAttribute {
    let kinds: Vec<NlLinkInfo> = NlasIterator::new(linkinfo)
        .filter_map(|inner| inner.ok())
        .filter(|inner| inner.kind() == IFLA_INFO_KIND)
        .filter_map(|inner| InfoKind::parse(&inner).ok())
        .map(NlLinkInfo::Kind)
        .collect();
    LinkAttribute::LinkInfo(kinds)
}

/// The same attributes as `decode_shown`, borrowed from the payload for ip_json (the fast
/// listing): netlink-packet-core's iterator and parsers, no `LinkAttribute`, nothing allocated.
/// Like `decode_attributes`, an attribute that does not parse is left out.
pub fn read_shown<'a>(payload: &'a [u8], op: &'static str) -> Result<ShownLink<'a>> {
    let header = LinkHeader::parse(payload)
        .map_err(|e| Error::proto(op, format!("bad link message header: {e}")))?;
    let mut link = ShownLink {
        ifindex: header.index,
        flags: header.flags.bits(),
        link_type: u32::from(u16::from(header.link_layer_type)),
        ..ShownLink::default()
    };
    for nla in NlasIterator::new(payload.get(LINK_HEADER_LEN..).unwrap_or(&[])) {
        let Ok(nla) = nla else { break };
        let kind = nla.kind();
        let value = value_of(nla);
        let number = || parse_u32(value).ok();
        match kind {
            IFLA_IFNAME => link.ifname = text(value).unwrap_or_default(),
            IFLA_MTU => link.mtu = number().unwrap_or_default(),
            IFLA_QDISC => link.qdisc = text(value),
            IFLA_TXQLEN => link.txqlen = number().unwrap_or_default(),
            IFLA_OPERSTATE => link.operstate = parse_u8(value).map_or(0, u32::from),
            IFLA_LINKMODE => link.linkmode = parse_u8(value).map_or(0, u32::from),
            IFLA_IFALIAS => link.ifalias = text(value),
            IFLA_GROUP => link.group = number().unwrap_or_default(),
            IFLA_MIN_MTU => link.min_mtu = number(),
            IFLA_MAX_MTU => link.max_mtu = number(),
            IFLA_STATS64 => link.stats64 = Stats64::parse(value).ok(),
            IFLA_LINKINFO => {
                link.kind = NlasIterator::new(value)
                    .filter_map(|inner| inner.ok())
                    .find(|inner| inner.kind() == IFLA_INFO_KIND)
                    .and_then(|inner| text(value_of(inner)))
            }
            _ => {}
        }
    }
    Ok(link)
}

/// An attribute's value, borrowed from the message rather than from the NlaBuffer.
fn value_of(nla: NlaBuffer<&[u8]>) -> &[u8] {
    let end = nla.length() as usize;
    nla.into_inner().get(4..end).unwrap_or(&[])
}

/// A string attribute as netlink-packet-core's parse_string reads it (one trailing NUL dropped),
/// borrowed; None when it is not UTF-8.
fn text(value: &[u8]) -> Option<&str> {
    std::str::from_utf8(value.strip_suffix(&[0]).unwrap_or(value)).ok()
}

/// Appends one link of `kind` from its RTM_NEWLINK payload to the output; false when not of `kind`.
type WriteItem = fn(&mut Vec<u8>, &[u8], Option<&str>) -> Result<bool>;

/// `list` as a JSON array, built while the dump arrives: no copy of the messages is kept, and only
/// the attributes shown are decoded. `write_item` appends one link from its RTM_NEWLINK payload
/// if it is of `kind` (the kernel filters too, but not every kernel) and says whether it did.
/// The text ends with a newline.
fn list_json(sock: &mut NlSocket, kind: Option<&str>, write_item: WriteItem) -> Result<Vec<u8>> {
    const OP: &str = "RTM_GETLINK";
    let request = list_request(kind)?;
    let out = std::cell::RefCell::new(Vec::<u8>::with_capacity(1 << 16));
    sock.dump_each(
        || RouteNetlinkMessage::GetLink(request.clone()),
        OP,
        || out.borrow_mut().clear(),
        |header, payload| {
            if header.message_type != RTM_NEWLINK {
                return Ok(());
            }
            let mut out = out.borrow_mut();
            let mark = out.len();
            out.push(if mark == 0 { b'[' } else { b',' });
            if !write_item(&mut out, payload, kind)? {
                out.truncate(mark);
            }
            Ok(())
        },
    )?;
    let mut out = out.into_inner();
    if out.is_empty() {
        out.push(b'[');
    }
    out.extend_from_slice(b"]\n");
    Ok(out)
}

/// `list` as the JSON array of `LinkInfo` that listLinksJson hands to JS.
pub fn list_info_json(sock: &mut NlSocket, kind: Option<&str>) -> Result<String> {
    let text = list_json(sock, kind, |out, payload, kind| {
        let link = decode_shown(payload, "RTM_GETLINK")?;
        if kind.is_some() && kind_of(&link).as_deref() != kind {
            return Ok(false);
        }
        serde_json::to_writer(out, &to_js(&link))
            .map_err(|e| Error::proto("RTM_GETLINK", e.to_string()))?;
        Ok(true)
    })?;
    String::from_utf8(text).map_err(|e| Error::proto("RTM_GETLINK", e.to_string()))
}

/// `list` as the bytes `list --json` / `stats --json` print (iproute2's shape, see ip_json.rs).
pub fn list_ip_json(sock: &mut NlSocket, kind: Option<&str>) -> Result<Vec<u8>> {
    list_json(sock, kind, |out, payload, kind| {
        let link = read_shown(payload, "RTM_GETLINK")?;
        if kind.is_some() && link.kind != kind {
            return Ok(false);
        }
        ip_json::write(out, &link).map_err(|e| Error::proto("RTM_GETLINK", e.to_string()))?;
        Ok(true)
    })
}

fn check_kind(link: &LinkMessage, expect: Option<&str>) -> Result<()> {
    let Some(expected) = expect else {
        return Ok(());
    };
    let kind = kind_of(link);
    if kind.as_deref() == Some(expected) {
        return Ok(());
    }
    Err(Error::Kind {
        ifname: name_of(link).unwrap_or_default().to_string(),
        ifindex: link.header.index,
        kind,
        expected: expected.to_string(),
    })
}

fn setlink(
    sock: &mut NlSocket,
    index: u32,
    up: Option<bool>,
    attributes: Vec<LinkAttribute>,
) -> Result<()> {
    let request = message(index, up, attributes)?;
    sock.request(RouteNetlinkMessage::SetLink(request), 0, "RTM_SETLINK")
        .map(|_| ())
}

fn dellink(sock: &mut NlSocket, index: u32) -> Result<()> {
    let request = message(index, None, Vec::new())?;
    sock.request(RouteNetlinkMessage::DelLink(request), 0, "RTM_DELLINK")
        .map(|_| ())
}

fn newlink(sock: &mut NlSocket, req: &NewLink, name: &str) -> Result<()> {
    let mut attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::from(req.kind.as_str()))]),
    ];
    if let Some(mtu) = req.mtu {
        attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(txqlen) = req.txqlen {
        attributes.push(LinkAttribute::TxQueueLen(txqlen));
    }
    if let Some(group) = req.group {
        attributes.push(LinkAttribute::Group(group));
    }
    if let Some(address) = &req.address {
        attributes.push(LinkAttribute::Address(address.clone()));
    }
    if let Some(broadcast) = &req.broadcast {
        attributes.push(LinkAttribute::Broadcast(broadcast.clone()));
    }
    let request = message(0, req.up.filter(|up| *up), attributes)?;
    sock.request(
        RouteNetlinkMessage::NewLink(request),
        NLM_F_CREATE | NLM_F_EXCL,
        "RTM_NEWLINK",
    )
    .map(|_| ())
}

/// Every name and altname in use.
fn names_in_use(sock: &mut NlSocket) -> Result<Vec<String>> {
    let links = list(sock, None)?;
    let mut names = Vec::new();
    for link in &links {
        names.extend(name_of(link).map(str::to_string));
        names.extend(alt_names_of(link).map(str::to_string));
    }
    Ok(names)
}

/// Create a link (see the crate docs for the naming rules), set its alias, read it back.
pub fn create(sock: &mut NlSocket, req: &NewLink) -> Result<js::LinkInfo> {
    let name = match naming::plan(req.name.as_deref(), &req.kind) {
        NamePlan::Verbatim(name) => {
            newlink(sock, req, &name)?;
            name
        }
        NamePlan::Pattern(pattern) => {
            let mut failed = HashSet::new();
            let mut attempt = 0;
            loop {
                let names = names_in_use(sock)?;
                let Some(candidate) = pattern.candidate(names.iter().map(String::as_str), &failed)
                else {
                    // What the kernel answers when the number it picks prints to a taken name.
                    return Err(Error::errno(libc::ENFILE, "RTM_NEWLINK"));
                };
                match newlink(sock, req, &candidate) {
                    Ok(()) => break candidate,
                    Err(Error::Errno {
                        errno: libc::EEXIST,
                        ..
                    }) if attempt + 1 < NAME_ATTEMPTS => {
                        attempt += 1;
                        failed.insert(candidate);
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    };
    let created = get(sock, &LinkRef::Name(name))?;
    let index = created.header.index;
    let Some(alias) = &req.alias else {
        return Ok(to_js(&created));
    };
    // The kernel ignores IFLA_IFALIAS on creation: set it now, or leave nothing behind.
    if let Err(err) = setlink(sock, index, None, vec![alias_attribute(alias)]) {
        let _ = dellink(sock, index);
        return Err(err);
    }
    Ok(to_js(&get(sock, &LinkRef::Index(index))?))
}

/// Look the link up, check its kind, change it by ifindex, read it back.
pub fn set(
    sock: &mut NlSocket,
    link: &LinkRef,
    change: &Change,
    expect: Option<&str>,
) -> Result<js::LinkInfo> {
    let before = get(sock, link)?;
    check_kind(&before, expect)?;
    let index = before.header.index;
    let was_up = before.header.flags.contains(LinkFlags::Up);
    if change.up == Some(false) && change.name.is_some() {
        // The kernel renames before it applies flags and may refuse to rename an UP link
        // (EBUSY): take it down on its own first.
        setlink(sock, index, Some(false), Vec::new())?;
        if let Err(err) = setlink(sock, index, None, change_attributes(change)) {
            if was_up {
                let _ = setlink(sock, index, Some(true), Vec::new());
            }
            return Err(err);
        }
    } else {
        setlink(sock, index, change.up, change_attributes(change))?;
    }
    Ok(to_js(&get(sock, &LinkRef::Index(index))?))
}

/// Look the link up, check its kind, delete it by ifindex; returns it as it was.
pub fn delete(sock: &mut NlSocket, link: &LinkRef, expect: Option<&str>) -> Result<js::LinkInfo> {
    let before = get(sock, link)?;
    check_kind(&before, expect)?;
    dellink(sock, before.header.index)?;
    Ok(to_js(&before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(message: &LinkMessage) -> Vec<u8> {
        let mut bytes = vec![0u8; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    #[test]
    fn alias_is_sent_without_nul() {
        let bytes = encoded(&message(3, None, vec![alias_attribute("abc")]).unwrap_or_default());
        // header (16) + nla_len 7, type 20, "abc", one pad byte
        assert_eq!(&bytes[16..24], &[7, 0, 20, 0, b'a', b'b', b'c', 0]);
        let empty = encoded(&message(3, None, vec![alias_attribute("")]).unwrap_or_default());
        assert_eq!(&empty[16..], &[4, 0, 20, 0]);
    }

    #[test]
    fn up_and_down_flags() {
        let up = message(5, Some(true), Vec::new()).unwrap_or_default();
        assert_eq!(
            (up.header.flags, up.header.change_mask),
            (LinkFlags::Up, LinkFlags::Up)
        );
        let down = message(5, Some(false), Vec::new()).unwrap_or_default();
        assert_eq!(
            (down.header.flags, down.header.change_mask),
            (LinkFlags::empty(), LinkFlags::Up)
        );
        let none = message(5, None, Vec::new()).unwrap_or_default();
        assert_eq!(none.header.change_mask, LinkFlags::empty());
    }

    #[test]
    fn oversized_attributes_are_refused() {
        let long = "x".repeat(70_000);
        assert!(matches!(
            message(1, None, vec![alias_attribute(&long)]),
            Err(Error::Arg(_))
        ));
        assert!(matches!(
            message(1, None, vec![LinkAttribute::IfName(long)]),
            Err(Error::Arg(_))
        ));
        let fits = "x".repeat(65_531);
        assert!(message(1, None, vec![alias_attribute(&fits)]).is_ok());
    }

    #[test]
    fn decode_round_trip_and_kind() {
        let mut link = LinkMessage::default();
        link.header.index = 9;
        link.attributes = vec![
            LinkAttribute::IfName("nlmon0".into()),
            LinkAttribute::Mtu(3776),
            LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::Nlmon)]),
        ];
        let bytes = encoded(&link);
        let decoded = decode_link(&bytes, "test").unwrap_or_default();
        assert_eq!(name_of(&decoded), Some("nlmon0"));
        assert_eq!(kind_of(&decoded).as_deref(), Some("nlmon"));
        let js = to_js(&decoded);
        assert_eq!(
            (js.ifindex, js.mtu, js.kind.as_deref()),
            (9, 3776, Some("nlmon"))
        );
    }

    #[test]
    fn decode_keeps_kind_when_info_data_is_garbage() {
        // IFLA_LINKINFO { KIND "bridge", DATA { garbage } }: the crate's strict decode may fail
        // on the data; the kind must survive either way.
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
        let decoded = decode_link(&bytes, "test").unwrap_or_default();
        assert_eq!(name_of(&decoded), Some("br0"));
        assert_eq!(kind_of(&decoded).as_deref(), Some("bridge"));
    }

    #[test]
    fn decode_garbage_does_not_panic() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = decode_link(&bytes, "test");
        }
        assert!(matches!(
            decode_link(&[1, 2, 3], "test"),
            Err(Error::Proto { .. })
        ));
    }
}
