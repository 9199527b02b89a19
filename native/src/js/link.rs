//! The link exports. Each resolves to UTF-8 JSON bytes in a Buffer (no trailing newline): one
//! link object, or an array of them for listLinks, in the shape `ip -j -s -d link show` prints
//! (link/ip_json.rs). Bytes rather than JS objects: building ~40 properties per link through
//! N-API on the JS thread cost more than the kernel's dump at thousands of links; the bytes go
//! to stdout as they are, or through JSON.parse, which is fast.

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi_derive::napi;

use super::task::{spawn, Job};
use super::types::{netns_of, CreateLinkRequest, LinkChange, LinkRef, Target};
use crate::link::{self, LinkAttrs, NewLink};

/// Create a link (RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL); resolves to it as read back: one link
/// object in the shape of `ip -j -s -d link show`, as UTF-8 JSON bytes (no trailing newline).
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn create_link(req: CreateLinkRequest, target: Option<Target>) -> AsyncTask<Job<Buffer>> {
    spawn(
        netns_of(target),
        || NewLink::try_from(req),
        |sock, req| link::create(sock, &req).map(Buffer::from),
    )
}

/// One link by name or index: one link object (`ip -j -s -d link show`'s shape), as UTF-8 JSON
/// bytes.
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn get_link(link_ref: LinkRef, target: Option<Target>) -> AsyncTask<Job<Buffer>> {
    spawn(
        netns_of(target),
        || link::LinkRef::try_from(link_ref),
        |sock, r| link::get(sock, &r).map(Buffer::from),
    )
}

/// Every link, or those of one kind: a JSON array of link objects (`ip -j -s -d link show`'s
/// shape), as UTF-8 bytes without a trailing newline.
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn list_links(kind: Option<String>, target: Option<Target>) -> AsyncTask<Job<Buffer>> {
    spawn(
        netns_of(target),
        || Ok(kind),
        |sock, kind| link::list(sock, kind.as_deref()).map(Buffer::from),
    )
}

/// Delete a link by ifindex after checking its kind; resolves to it as it was just before (one
/// link object, UTF-8 JSON bytes).
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn delete_link(
    link_ref: LinkRef,
    expect_kind: Option<String>,
    target: Option<Target>,
) -> AsyncTask<Job<Buffer>> {
    spawn(
        netns_of(target),
        || link::LinkRef::try_from(link_ref),
        move |sock, r| link::delete(sock, &r, expect_kind.as_deref()).map(Buffer::from),
    )
}

/// Change a link by ifindex after checking its kind; resolves to it as read back (one link
/// object, UTF-8 JSON bytes).
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn set_link(
    link_ref: LinkRef,
    change: LinkChange,
    expect_kind: Option<String>,
    target: Option<Target>,
) -> AsyncTask<Job<Buffer>> {
    spawn(
        netns_of(target),
        || {
            Ok((
                link::LinkRef::try_from(link_ref)?,
                LinkAttrs::try_from(change)?,
            ))
        },
        move |sock, (r, change)| {
            link::set(sock, &r, &change, expect_kind.as_deref()).map(Buffer::from)
        },
    )
}
