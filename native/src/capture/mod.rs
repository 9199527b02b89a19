//! Netlink capture on nlmon links, in plain Rust: the ring, pcap files, the decoder, the names
//! of families and types, generic netlink ids, and the running session.

pub mod connector;
pub mod decode;
pub mod genl;
pub mod names;
pub mod pcapio;
pub mod pcapread;
pub mod queue;
pub mod ring;
pub mod session;
pub mod ynl;
