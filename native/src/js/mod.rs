//! The JavaScript boundary — the only module that knows about napi: every `#[napi]` export, the
//! N-API object types and their conversion into the plain Rust requests, the AsyncTask job
//! runner, and the `NetlinkSession` and `CaptureSession` classes.
//!
//! Every export runs inside `catch_unwind` (and its work inside `guarded`): a panic becomes an
//! `EPANIC` rejection, never an abort across the FFI boundary. Failures reject with an Error whose
//! message is one line of JSON (`netlink::error::Error::to_json`).

pub mod capture;
pub mod link;
pub mod session;
pub mod spawn;
pub mod task;
pub mod types;
