//! The link requests: create, get, list, set, delete. Each reads the link(s) back through the one
//! decoder and answers with the one shape (ip_json), as UTF-8 JSON bytes.

use std::cell::RefCell;
use std::collections::HashSet;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::LinkFlags;
use netlink_packet_route::RouteNetlinkMessage;

use super::attrs::{LinkAttrs, NewLink};
use super::decode::{self, Link};
use super::ip_json;
use super::naming::{self, NamePlan};
use crate::netlink::consts::RTM_NEWLINK;
use crate::netlink::error::{Error, Result};
use crate::netlink::socket::NlSocket;

const GETLINK: &str = "RTM_GETLINK";
/// How often createLink retries a pattern name after losing a race (EEXIST).
pub const NAME_ATTEMPTS: usize = 256;

/// A link by name or by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRef {
    Name(String),
    Index(u32),
}

fn decoded<'a>(payload: &'a [u8], op: &'static str) -> Result<Link<'a>> {
    decode::read(payload).map_err(|e| Error::proto(op, format!("bad link message header: {e}")))
}

fn shape(link: &Link<'_>, op: &'static str) -> Result<Vec<u8>> {
    ip_json::to_vec(link).map_err(|e| Error::proto(op, e.to_string()))
}

/// RTM_GETLINK for one link (by ifi_index, or by IFLA_IFNAME, accepted in strict mode): the
/// payload of the kernel's RTM_NEWLINK answer, for `decode::read`.
fn fetch(sock: &mut NlSocket, link: &LinkRef) -> Result<Vec<u8>> {
    let request = match link {
        LinkRef::Index(index) => LinkAttrs::new().message(*index, None)?,
        LinkRef::Name(name) => LinkAttrs::new().name(name.as_str()).message(0, None)?,
    };
    sock.request(RouteNetlinkMessage::GetLink(request), 0, GETLINK)?
        .into_iter()
        .find(|reply| reply.header.message_type == RTM_NEWLINK)
        .map(|reply| reply.payload)
        .ok_or_else(|| Error::proto(GETLINK, "no RTM_NEWLINK in the reply"))
}

fn setlink(sock: &mut NlSocket, index: u32, attrs: &LinkAttrs) -> Result<()> {
    let message = attrs.message(index, None)?;
    sock.request(RouteNetlinkMessage::SetLink(message), 0, "RTM_SETLINK")
        .map(|_| ())
}

fn dellink(sock: &mut NlSocket, index: u32) -> Result<()> {
    let message = LinkAttrs::new().message(index, None)?;
    sock.request(RouteNetlinkMessage::DelLink(message), 0, "RTM_DELLINK")
        .map(|_| ())
}

/// RTM_NEWLINK of `req`'s kind under the explicit `name`. The alias is not sent (the kernel
/// ignores it at creation), and only `up: true` is (a new link is down anyway).
fn newlink(sock: &mut NlSocket, req: &NewLink, name: &str) -> Result<()> {
    let attrs = LinkAttrs {
        name: Some(name.to_string()),
        alias: None,
        up: req.attrs.up.filter(|up| *up),
        ..req.attrs.clone()
    };
    let message = attrs.message(0, Some(&req.kind))?;
    sock.request(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
        "RTM_NEWLINK",
    )
    .map(|_| ())
}

/// RTM_GETLINK dump, each link decoded in place and handed to `each`; with `kind`, only the
/// links of that kind (the kernel filters when it has a driver for the kind, not otherwise: we
/// filter again). `restart` runs when the kernel interrupted the dump and it starts over.
fn dump(
    sock: &mut NlSocket,
    kind: Option<&str>,
    restart: impl FnMut(),
    mut each: impl FnMut(&Link<'_>) -> Result<()>,
) -> Result<()> {
    let request = LinkAttrs::new().message(0, kind)?;
    sock.dump_each(
        || RouteNetlinkMessage::GetLink(request.clone()),
        GETLINK,
        restart,
        |header, payload| {
            if header.message_type != RTM_NEWLINK {
                return Ok(());
            }
            let link = decoded(payload, GETLINK)?;
            if kind.is_some() && link.kind != kind {
                return Ok(());
            }
            each(&link)
        },
    )
}

/// One link.
pub fn get(sock: &mut NlSocket, link: &LinkRef) -> Result<Vec<u8>> {
    shape(&decoded(&fetch(sock, link)?, GETLINK)?, GETLINK)
}

/// Every link, or those of one kind, as a JSON array, written while the dump arrives: no copy
/// of the messages is kept, and no LinkMessage or String is built per link.
pub fn list(sock: &mut NlSocket, kind: Option<&str>) -> Result<Vec<u8>> {
    let out = RefCell::new(Vec::<u8>::with_capacity(1 << 16));
    dump(
        sock,
        kind,
        || out.borrow_mut().clear(),
        |link| {
            let mut out = out.borrow_mut();
            let separator = if out.is_empty() { b'[' } else { b',' };
            out.push(separator);
            ip_json::write(&mut out, link).map_err(|e| Error::proto(GETLINK, e.to_string()))
        },
    )?;
    let mut out = out.into_inner();
    if out.is_empty() {
        out.push(b'[');
    }
    out.push(b']');
    Ok(out)
}

/// Every name and altname in use.
fn names_in_use(sock: &mut NlSocket) -> Result<Vec<String>> {
    let names = RefCell::new(Vec::new());
    dump(
        sock,
        None,
        || names.borrow_mut().clear(),
        |link| {
            let mut names = names.borrow_mut();
            names.extend(link.ifname.map(str::to_string));
            names.extend(link.alt_names().map(str::to_string));
            Ok(())
        },
    )?;
    Ok(names.into_inner())
}

/// Create a link (see naming.rs for the naming rules), set its alias, read it back.
pub fn create(sock: &mut NlSocket, req: &NewLink) -> Result<Vec<u8>> {
    let name = match naming::plan(req.attrs.name.as_deref(), &req.kind) {
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
    let created = fetch(sock, &LinkRef::Name(name))?;
    let link = decoded(&created, GETLINK)?;
    let Some(alias) = &req.attrs.alias else {
        return shape(&link, GETLINK);
    };
    // The kernel ignores IFLA_IFALIAS on creation: set it now, or leave nothing behind.
    let index = link.ifindex;
    if let Err(err) = setlink(sock, index, &LinkAttrs::new().alias(alias.as_str())) {
        let _ = dellink(sock, index);
        return Err(err);
    }
    get(sock, &LinkRef::Index(index))
}

fn check_kind(link: &Link<'_>, expect: Option<&str>) -> Result<()> {
    match expect {
        Some(expected) if link.kind != Some(expected) => Err(Error::Kind {
            ifname: link.ifname.unwrap_or_default().to_string(),
            ifindex: link.ifindex,
            kind: link.kind.map(str::to_string),
            expected: expected.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Look the link up, check its kind, change it by ifindex, read it back.
pub fn set(
    sock: &mut NlSocket,
    link: &LinkRef,
    change: &LinkAttrs,
    expect: Option<&str>,
) -> Result<Vec<u8>> {
    let before = fetch(sock, link)?;
    let before = decoded(&before, GETLINK)?;
    check_kind(&before, expect)?;
    let index = before.ifindex;
    let was_up = before.flags & LinkFlags::Up.bits() != 0;
    if change.up == Some(false) && change.name.is_some() {
        // The kernel renames before it applies flags and may refuse to rename an UP link
        // (EBUSY): take it down on its own first.
        setlink(sock, index, &LinkAttrs::new().up(false))?;
        let rest = LinkAttrs {
            up: None,
            ..change.clone()
        };
        if let Err(err) = setlink(sock, index, &rest) {
            if was_up {
                let _ = setlink(sock, index, &LinkAttrs::new().up(true));
            }
            return Err(err);
        }
    } else {
        setlink(sock, index, change)?;
    }
    get(sock, &LinkRef::Index(index))
}

/// Look the link up, check its kind, delete it by ifindex; returns it as it was.
pub fn delete(sock: &mut NlSocket, link: &LinkRef, expect: Option<&str>) -> Result<Vec<u8>> {
    let before = fetch(sock, link)?;
    let before = decoded(&before, GETLINK)?;
    check_kind(&before, expect)?;
    dellink(sock, before.ifindex)?;
    shape(&before, GETLINK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_check() {
        let veth = Link {
            ifindex: 7,
            ifname: Some("v0"),
            kind: Some("veth"),
            ..Link::default()
        };
        assert_eq!(check_kind(&veth, None), Ok(()));
        assert_eq!(check_kind(&veth, Some("veth")), Ok(()));
        assert_eq!(
            check_kind(&veth, Some("nlmon")),
            Err(Error::Kind {
                ifname: "v0".into(),
                ifindex: 7,
                kind: Some("veth".into()),
                expected: "nlmon".into(),
            })
        );
        let lo = Link {
            ifindex: 1,
            ifname: Some("lo"),
            ..Link::default()
        };
        assert!(matches!(
            check_kind(&lo, Some("nlmon")),
            Err(Error::Kind { kind: None, .. })
        ));
    }

    /// Read-only against this process's namespace: the listing and a get of `lo` parse as the
    /// JSON they claim to be, and agree with each other.
    #[test]
    fn list_and_get_loopback() {
        let mut sock = match NlSocket::open() {
            Ok(sock) => sock,
            Err(e) => panic!("open: {e}"),
        };
        let parse = |bytes: Result<Vec<u8>>| -> serde_json::Value {
            match bytes.map(|b| serde_json::from_slice(&b)) {
                Ok(Ok(value)) => value,
                other => panic!("{other:?}"),
            }
        };
        let all = parse(list(&mut sock, None));
        let lo = all
            .as_array()
            .and_then(|links| links.iter().find(|l| l["ifindex"] == 1))
            .cloned()
            .unwrap_or_default();
        assert_eq!(lo["ifname"], "lo");
        assert_eq!(lo["link_type"], "loopback");
        let one = parse(get(&mut sock, &LinkRef::Name("lo".into())));
        assert_eq!(one["ifindex"], 1);
        assert_eq!(one["flags"], lo["flags"]);
        assert_eq!(
            parse(list(&mut sock, Some("nlmonctl-no-such-kind"))),
            serde_json::json!([])
        );
        let missing = get(&mut sock, &LinkRef::Name("nlmonctl-none".into()));
        assert!(
            matches!(
                missing,
                Err(Error::Errno {
                    errno: libc::ENODEV,
                    ..
                })
            ),
            "{missing:?}"
        );
    }
}
