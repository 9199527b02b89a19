//! Netlink capture on nlmon links, in plain Rust: the ring, pcap files, the decoder, the names
//! of families and types, generic netlink ids, and the running session.

pub mod connector;
pub mod decode;
pub mod genl;
pub mod names;
pub mod pcapio;
pub mod pcapread;
pub mod process;
pub mod queue;
pub mod ring;
#[cfg(test)]
pub mod schema;
pub mod session;
pub mod sockdiag;
pub mod ynl;

#[cfg(test)]
mod fuzz;

/// Checks a record against the JSON Schema (schema/capture-record.v1.json) in the tests.
#[cfg(test)]
fn schema_check(record: &serde_json::Value, what: &str) {
    schema::assert_valid_in(record, what);
}
