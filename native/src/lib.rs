//! nlmonctl's native layer: rtnetlink link requests for Node.js (napi-rs), off the JS thread.
//!
//! Every export returns a Promise; failures reject with an Error whose message is one line of
//! JSON (see `error.rs`). Only the exports live here.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod error;
pub mod extack;
pub mod js;
pub mod link;
pub mod naming;
pub mod netns;
pub mod socket;
pub mod task;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::js::{CreateLinkRequest, LinkChange, LinkInfo, LinkRef, Target};
use crate::task::{spawn, Job};

/// Create a link (RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL) and return it as read back.
#[napi(ts_return_type = "Promise<LinkInfo>", catch_unwind)]
pub fn create_link(req: CreateLinkRequest, target: Option<Target>) -> AsyncTask<Job<LinkInfo>> {
    spawn(
        js::netns_of(target),
        || link::NewLink::try_from(req),
        |sock, req| link::create(sock, &req),
    )
}

/// One link by name or index.
#[napi(ts_return_type = "Promise<LinkInfo>", catch_unwind)]
pub fn get_link(link_ref: LinkRef, target: Option<Target>) -> AsyncTask<Job<LinkInfo>> {
    spawn(
        js::netns_of(target),
        || link::LinkRef::try_from(link_ref),
        |sock, r| link::get(sock, &r).map(|l| link::to_js(&l)),
    )
}

/// Every link, or those of one kind.
#[napi(ts_return_type = "Promise<LinkInfo[]>", catch_unwind)]
pub fn list_links(kind: Option<String>, target: Option<Target>) -> AsyncTask<Job<Vec<LinkInfo>>> {
    spawn(
        js::netns_of(target),
        || Ok(kind),
        |sock, kind| {
            link::list(sock, kind.as_deref()).map(|links| links.iter().map(link::to_js).collect())
        },
    )
}

/// Delete a link by ifindex after checking its kind; returns it as it was just before.
#[napi(ts_return_type = "Promise<LinkInfo>", catch_unwind)]
pub fn delete_link(
    link_ref: LinkRef,
    expect_kind: Option<String>,
    target: Option<Target>,
) -> AsyncTask<Job<LinkInfo>> {
    spawn(
        js::netns_of(target),
        || link::LinkRef::try_from(link_ref),
        move |sock, r| link::delete(sock, &r, expect_kind.as_deref()),
    )
}

/// Change a link by ifindex after checking its kind; returns it as read back.
#[napi(ts_return_type = "Promise<LinkInfo>", catch_unwind)]
pub fn set_link(
    link_ref: LinkRef,
    change: LinkChange,
    expect_kind: Option<String>,
    target: Option<Target>,
) -> AsyncTask<Job<LinkInfo>> {
    spawn(
        js::netns_of(target),
        || {
            Ok((
                link::LinkRef::try_from(link_ref)?,
                link::Change::try_from(change)?,
            ))
        },
        move |sock, (r, change)| link::set(sock, &r, &change, expect_kind.as_deref()),
    )
}
