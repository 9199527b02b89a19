//! nlmonctl's native layer: rtnetlink link requests for Node.js (napi-rs), off the JS thread.
//!
//! Every export returns a Promise; failures reject with an Error whose message is one line of
//! JSON (see `error.rs`). Only the exports live here.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod capture;
pub mod ip_json;
pub mod js;
pub mod link;
pub mod naming;
pub mod netlink;
pub mod session;
pub mod task;

use crate::netlink::{error, netns};

use napi::bindgen_prelude::{AsyncTask, Buffer};
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

/// Every link, or those of one kind, as a JSON array of LinkInfo. JSON, not JS objects: building
/// ~40 properties per link through N-API on the JS thread cost more than the dump itself at
/// thousands of links (bench/stats); serde does it here, off the JS thread, and JSON.parse is fast.
#[napi(ts_return_type = "Promise<string>", catch_unwind)]
pub fn list_links_json(kind: Option<String>, target: Option<Target>) -> AsyncTask<Job<String>> {
    spawn(
        js::netns_of(target),
        || Ok(kind),
        |sock, kind| link::list_info_json(sock, kind.as_deref()),
    )
}

/// Every link, or those of one kind, as the bytes `list --json` / `stats --json` print: a JSON
/// array in iproute2's shape (ip_json.rs, the twin of link-json.ts) and a newline, ready for
/// stdout without a JS object or string per link (bin/run.js's fast path).
#[napi(ts_return_type = "Promise<Buffer>", catch_unwind)]
pub fn list_links_ip_json(kind: Option<String>, target: Option<Target>) -> AsyncTask<Job<Buffer>> {
    spawn(
        js::netns_of(target),
        || Ok(kind),
        |sock, kind| link::list_ip_json(sock, kind.as_deref()).map(Buffer::from),
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

/// Start a live capture on an nlmon link (UP already): the pcap file is opened first, then, in
/// the target namespace, generic netlink family names are dumped and the TPACKET_V3 ring is
/// bound to the link. Traffic is captured from the bind on.
#[napi(ts_return_type = "Promise<CaptureSession>", catch_unwind)]
pub fn open_capture(
    options: capture::js::CaptureOptions,
    target: Option<Target>,
) -> AsyncTask<Job<capture::js::CaptureSession>> {
    let netns = js::netns_of(target);
    let parsed = error::guarded(|| {
        let ifindex = options
            .ifindex
            .ok_or_else(|| error::Error::Arg("openCapture needs an ifindex".into()))?;
        Ok((ifindex, capture::session::Settings::try_from(options)?))
    });
    AsyncTask::new(Job::new(move || {
        let (ifindex, settings) = parsed?;
        // Refuse an existing file before touching the network namespace.
        if let Some(path) = settings.write.as_deref().filter(|p| *p != "-") {
            if !settings.force && std::fs::symlink_metadata(path).is_ok() {
                return Err(error::Error::Errno {
                    errno: libc::EEXIST,
                    op: "open(pcap)",
                    extack: None,
                    extack_offset: None,
                });
            }
        }
        let ring_cfg = settings.ring;
        let (ring, genl) = netns::run_in(netns.as_deref(), move || {
            // Best effort: without the names, generic families show as GENL_ID_<n>.
            let genl =
                capture::genl::resolve().unwrap_or_else(|_| capture::decode::GenlNames::new());
            let ring = capture::ring::Ring::open(ifindex, ring_cfg)?;
            Ok((ring, genl))
        })?;
        let session = capture::session::start_live(ring, genl, settings)?;
        Ok(capture::js::CaptureSession::new(session))
    }))
}

/// Decode a pcap file (LINKTYPE_NETLINK, ours or tcpdump's). Generic netlink ids are named from
/// the file's own nlctrl traffic, then from this namespace's families.
#[napi(ts_return_type = "Promise<CaptureSession>", catch_unwind)]
pub fn read_pcap(
    path: String,
    options: capture::js::CaptureOptions,
) -> AsyncTask<Job<capture::js::CaptureSession>> {
    let parsed = error::guarded(|| capture::session::Settings::try_from(options));
    AsyncTask::new(Job::new(move || {
        let settings = parsed?;
        let genl = capture::genl::resolve().unwrap_or_else(|_| capture::decode::GenlNames::new());
        let session = capture::session::start_offline(&path, genl, settings)?;
        Ok(capture::js::CaptureSession::new(session))
    }))
}

/// Copy the numbered packets (1-based, the decoder's `packet`) of one pcap file into another,
/// opened like a capture output ("-" is standard output). Resolves to how many were written.
#[napi(ts_return_type = "Promise<number>", catch_unwind)]
pub fn filter_pcap(
    src: String,
    dst: String,
    force: bool,
    packets: Vec<u32>,
) -> AsyncTask<Job<u32>> {
    AsyncTask::new(Job::new(move || {
        capture::pcapio::copy_packets(&src, &dst, force, &packets)
    }))
}
