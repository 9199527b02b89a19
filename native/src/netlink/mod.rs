//! The plumbing: netlink numbers, the rtnetlink socket, extended ACKs, the one error type, and
//! running work inside another network namespace. Nothing here knows about links or JS.

pub mod consts;
pub mod error;
pub mod extack;
pub mod netns;
pub mod socket;
#[cfg(test)]
pub mod testing;
