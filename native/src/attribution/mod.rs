//! Which process sent each netlink message: kernel-side attribution with eBPF (issue 10).
//!
//! `bpf/netlink_send.bpf.c` records, at send time and in the sender's context, every message a
//! process sends on a netlink socket (protocol, port id, network namespace, header, first 256
//! bytes, tgid/tid/comm) into a ring buffer (`bpf`); `matcher` joins those events with the
//! captured messages. Pids and tids are as this process's pid namespace numbers them (the
//! kernel's own from the initial one; from a container's, looked up in the task's struct pid); a
//! sender that namespace cannot see has pid 0 and is attributed to nobody.
//!
//! Two hooks (`bpf::Hook`, see the C file's header): fentry on netlink_unicast/netlink_broadcast
//! (Debian's kernels; the event is in the ring before nlmon's tap sees the message), else the
//! consume_skb raw tracepoint (kernels without fentry, like this project's CI host): then only
//! kernel-bound messages are seen, and their event comes *after* the capture may have read the
//! request and its answers — an integration must hold such packets until `poll()` brought the
//! event or a short bound passed, or accept them unattributed.
//!
//! Use, in a capture of the network namespace with inode `netns`:
//! ```ignore
//! let mut attribution = Attribution::start(netns)?;   // Err: no BTF (ENOENT), no privilege (EPERM)
//! // for each captured packet, in capture order: first drain the ring (a request's event is
//! // submitted before nlmon's tap sees the request), then ask for each message of the packet
//! attribution.poll();
//! let process: Option<Process> =
//!     attribution.attribute(&CapturedMsg { netns, protocol, direction, bytes, captured_ns });
//! // at the end: attribution.lost_events()? and attribution.stats()
//! ```
//! `captured_ns` is the packet's capture time on CLOCK_MONOTONIC (its realtime stamp minus the
//! realtime−monotonic offset): with it, equal requests of processes that ran one after the other
//! are told apart (a send recorded after the capture cannot be the captured message); `None`
//! keeps every equal pending send a candidate.
//! `fd()` is readable when events wait (for an epoll loop). Failures are the crate's
//! `Error::Errno` with `op` "BPF load" / "BPF attach" and aya's description as `extack`.

pub mod bpf;
pub mod matcher;

#[cfg(test)]
mod live;

use std::os::fd::RawFd;

pub use matcher::{
    CapturedMsg, Direction, Limits, MatchStats, Matcher, SendEvent, SendKind, CAUSALITY_SLACK_NS,
};

use crate::capture::process::Process;
use crate::netlink::error::Result;

/// Events the kernel side could not record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lost {
    /// The ring buffer was full.
    pub ring_full: u64,
    /// A send held more messages than the program walks (64).
    pub truncated: u64,
}

/// The eBPF program attached, and its events joined with the capture.
pub struct Attribution {
    loader: bpf::Loader,
    matcher: Matcher,
}

impl Attribution {
    /// Load and attach the program for the sends of network namespace `netns` (inode number).
    pub fn start(netns: u32) -> Result<Self> {
        Ok(Attribution {
            loader: bpf::Loader::start(netns)?,
            matcher: Matcher::new(Limits::default()),
        })
    }

    /// Take the events waiting in the ring buffer, without blocking; returns how many.
    pub fn poll(&mut self) -> usize {
        let matcher = &mut self.matcher;
        self.loader.drain(|event| matcher.push(event))
    }

    /// The process behind a captured message, when it is known.
    pub fn attribute(&mut self, msg: &CapturedMsg<'_>) -> Option<Process> {
        self.matcher.attribute(msg)
    }

    /// Events the program could not record (counted in the kernel).
    pub fn lost_events(&self) -> Result<Lost> {
        let (ring_full, truncated) = self.loader.lost()?;
        Ok(Lost {
            ring_full,
            truncated,
        })
    }

    /// Where the program is attached: with `Hook::ConsumeSkb` a request's event arrives after
    /// the capture saw the request (poll again before giving up on it).
    pub fn hook(&self) -> bpf::Hook {
        self.loader.hook()
    }

    /// What the matcher did (attributed, ambiguous, unmatched, expired).
    pub fn stats(&self) -> MatchStats {
        self.matcher.stats()
    }

    /// The ring buffer's descriptor, readable when events wait.
    pub fn fd(&self) -> RawFd {
        self.loader.fd()
    }
}
