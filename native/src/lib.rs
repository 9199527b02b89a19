//! nlmonctl's native layer: rtnetlink link requests and nlmon captures for Node.js (napi-rs).
//!
//! Layers, bottom up:
//! - `netlink`: the plumbing — netlink numbers, the rtnetlink socket, extended ACKs, the one
//!   error type, running work in another network namespace;
//! - `link`: link requests and the one link model — one attribute set, one decoder, one shape
//!   (`ip -j -s -d link show`'s), naming, the batch session;
//! - `capture`: the nlmon capture — ring, pcap files, decoder, names, generic netlink, session;
//! - `js`: the only module that knows about napi — every export and class.
//!
//! Every export returns a Promise (or, on the session classes, answers synchronously); failures
//! reject with an Error whose message is one line of JSON (see `netlink/error.rs`).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod attribution;
pub mod capture;
pub mod js;
pub mod link;
pub mod netlink;
