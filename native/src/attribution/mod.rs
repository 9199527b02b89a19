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
//! `captured_ns` is the packet's capture time on CLOCK_MONOTONIC (`clock::monotonic_of` its
//! realtime stamp): with it, equal requests of processes that ran one after the other
//! are told apart (a send recorded after the capture cannot be the captured message); `None`
//! keeps every equal pending send a candidate.
//! `fd()` is readable when events wait (for an epoll loop). Failures are the crate's
//! `Error::Errno` with `op` "BPF load" / "BPF attach" and aya's description as `extack`.

pub mod bpf;
pub mod clock;
pub mod matcher;
pub mod proc;

#[cfg(test)]
mod live;

use std::os::fd::RawFd;

pub use matcher::{
    CapturedMsg, Direction, Limits, MatchStats, Matcher, SendEvent, SendKind, CAUSALITY_SLACK_NS,
};

use crate::capture::decode::split;
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

/// One captured packet, as the capture's writer hands it to both engines.
#[derive(Debug, Clone, Copy)]
pub struct CapturedPacket<'a> {
    pub protocol: u16,
    pub pkttype: u16,
    /// Capture time on CLOCK_MONOTONIC, ns (`clock::monotonic_of` the ring's stamp).
    pub captured_ns: Option<u64>,
    pub data: &'a [u8],
}

/// A process's argv from /proc (`--cmdline`), while it can still be read.
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    // argv ends with a NUL, so the last piece is empty; a kernel thread or a zombie has none
    let args = match args.split_last() {
        Some((last, rest)) if last.is_empty() => rest.to_vec(),
        _ => args,
    };
    (!args.is_empty()).then_some(args)
}

/// The eBPF program attached, and its events joined with the capture.
pub struct Attribution {
    loader: bpf::Loader,
    matcher: Matcher,
    /// Inode number of the captured network namespace.
    netns: u32,
}

impl Attribution {
    /// Load and attach the program for the sends of network namespace `netns` (inode number).
    pub fn start(netns: u32) -> Result<Self> {
        Ok(Attribution {
            loader: bpf::Loader::start(netns)?,
            matcher: Matcher::new(Limits::default()),
            netns,
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

    /// The process behind a captured packet (every message of one skb has one sender, or one
    /// addressee): the ring drained first, then each message asked for in order, so the matcher
    /// sees all of them (a batch's later events would otherwise wait until they expire).
    pub fn attribute_packet(&mut self, packet: &CapturedPacket<'_>) -> Option<Process> {
        self.poll();
        let mut found: Option<Process> = None;
        let _ = split(packet.data, false, |header, bytes| {
            let process = self.matcher.attribute(&CapturedMsg {
                netns: self.netns,
                protocol: packet.protocol,
                direction: Direction::of(packet.pkttype, header.flags),
                bytes,
                captured_ns: packet.captured_ns,
            });
            if found.is_none() {
                found = process;
            }
        });
        found
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
