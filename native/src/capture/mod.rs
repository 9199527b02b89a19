//! Netlink capture on nlmon links: the ring, pcap files, the decoder and the running session.

pub mod decode;
pub mod genl;
pub mod js;
pub mod names;
pub mod pcapio;
pub mod ring;
pub mod session;
