//! Joining the eBPF program's send events with the captured messages — pure, no kernel.
//!
//! - A **to-kernel** message (a request) is the send event of the same network namespace and
//!   protocol whose leading bytes are identical to the message's (the event holds the first
//!   `PREFIX_LEN` bytes and the length). Among equal candidates the oldest is taken (FIFO: the
//!   kernel hands messages to nlmon's tap in the order they were sent). When equal candidates of
//!   *different* processes (pid or tid) are pending at once, which one this message is cannot be
//!   known: none is attributed, now or later (`ambiguous`).
//! - A **to-user** message (reply, ACK, dump part, notification) whose `nlmsg_pid` is a port id
//!   seen sending in that namespace and protocol gets that port's latest sender. Port id 0 (the
//!   kernel's own notifications, with no requester) gets nothing.
//! - Memory is bounded: a send event not matched within `max_age` captured messages, or beyond
//!   `max_pending`, is dropped (`expired`); the port table keeps `max_ports` ports (the least
//!   recently sending is forgotten first, `ports_evicted`).

use std::collections::{HashMap, VecDeque};

use netlink_packet_core::NetlinkBuffer;

use crate::capture::process::{Process, Source};

/// Which call of the kernel recorded the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// `netlink_unicast`: to the port `dst` (0: the kernel).
    Unicast { dst: u32 },
    /// `netlink_broadcast`: to the multicast group `group`.
    Broadcast { group: u32 },
    /// Seen where the kernel freed a message it processed (the consume_skb fallback): sent to
    /// the kernel, recorded after the capture saw it.
    Consumed,
}

/// One message a process sent, as the eBPF program recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendEvent {
    /// When it was recorded (CLOCK_MONOTONIC, ns; for a fentry event, before the capture saw it).
    pub ktime_ns: u64,
    /// Inode number of the sending socket's network namespace.
    pub netns: u32,
    /// The socket's netlink protocol (NETLINK_ROUTE = 0, …).
    pub protocol: u16,
    /// The sending socket's port id.
    pub portid: u32,
    pub kind: SendKind,
    /// The sender's pid and tid in the reader's pid namespace (0: not visible from it).
    pub tgid: u32,
    pub tid: u32,
    pub comm: String,
    /// The message's header (`nlmsg_len` is the whole message's, however much `data` holds).
    pub nlmsg_len: u32,
    pub nlmsg_type: u16,
    pub nlmsg_flags: u16,
    pub nlmsg_seq: u32,
    pub nlmsg_pid: u32,
    /// The message's place in its send (an nftables batch is several messages in one).
    pub index: u32,
    /// The message's first bytes (at most `PREFIX_LEN`), header included.
    pub data: Vec<u8>,
}

impl SendEvent {
    /// The sender; none when its pid is 0 (not in the reader's pid namespace).
    fn process(&self) -> Option<Process> {
        if self.tgid == 0 {
            return None;
        }
        Some(Process {
            pid: self.tgid,
            tid: Some(self.tid),
            comm: self.comm.clone(),
            source: Source::Bpf,
            cmdline: None,
        })
    }
}

/// Which way a captured message went (nlmon's packet type: PACKET_KERNEL / PACKET_USER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToKernel,
    ToUser,
}

impl Direction {
    /// The capture's rule (names::message_direction), from a packet's type and a message's flags.
    pub fn of(pkttype: u16, flags: u16) -> Direction {
        if crate::capture::names::message_direction(pkttype, flags) == "to-kernel" {
            Direction::ToKernel
        } else {
            Direction::ToUser
        }
    }
}

/// One netlink message of the capture, in capture order.
#[derive(Debug, Clone, Copy)]
pub struct CapturedMsg<'a> {
    /// Inode number of the network namespace the nlmon link captures.
    pub netns: u32,
    pub protocol: u16,
    pub direction: Direction,
    /// The whole message, header first.
    pub bytes: &'a [u8],
    /// When the capture got it, on the events' clock (CLOCK_MONOTONIC, ns), if known: a send
    /// recorded later than `captured_ns + CAUSALITY_SLACK_NS` cannot be this message.
    pub captured_ns: Option<u64>,
}

/// How far the capture's clock may be off the events' (a packet's realtime stamp moved onto
/// CLOCK_MONOTONIC): candidates recorded within this much after the capture stay candidates.
pub const CAUSALITY_SLACK_NS: u64 = 1_000_000;

/// Bounds of the matcher's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A pending send event is dropped when this many captured messages went by without it.
    pub max_age: u64,
    /// At most this many send events wait for their captured copy (the oldest go first).
    pub max_pending: usize,
    /// At most this many ports are remembered.
    pub max_ports: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // A capture sees a request within a few messages of its send event; a burst of 4096
        // unmatched events means the capture is losing packets, not that they are late.
        Limits {
            max_age: 4096,
            max_pending: 4096,
            max_ports: 4096,
        }
    }
}

/// What the matcher did, for the capture's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchStats {
    /// Messages given a process (both directions).
    pub attributed: u64,
    /// To-kernel messages with equal candidates of different processes: none given.
    pub ambiguous: u64,
    /// To-kernel messages no send event matched.
    pub unmatched: u64,
    /// Send events dropped unmatched (too old, or too many pending).
    pub expired: u64,
    /// Ports forgotten to keep the port table bounded.
    pub ports_evicted: u64,
}

#[derive(Debug)]
struct Pending {
    event: SendEvent,
    /// `seen` when it arrived.
    arrived: u64,
    /// An equal candidate of another process was taken in its place: it cannot be told apart.
    tainted: bool,
}

#[derive(Debug)]
struct Port {
    process: Option<Process>,
    /// Order of the last send (for eviction).
    last: u64,
}

type Key = (u32, u16);

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Matcher {
    limits: Limits,
    /// Kernel-bound send events per (netns, protocol), oldest first.
    pending: HashMap<Key, VecDeque<Pending>>,
    pending_total: usize,
    ports: HashMap<(u32, u16, u32), Port>,
    /// Captured messages seen so far (the clock of `max_age`).
    seen: u64,
    /// Send events seen so far (the clock of the port table).
    sends: u64,
    stats: MatchStats,
}

/// Whether a captured message is the one an event recorded: same length, same leading bytes.
fn same_message(event: &SendEvent, bytes: &[u8], nlmsg_len: u32) -> bool {
    event.nlmsg_len == nlmsg_len && bytes.get(..event.data.len()) == Some(&event.data[..])
}

impl Matcher {
    pub fn new(limits: Limits) -> Self {
        Matcher {
            limits,
            ..Matcher::default()
        }
    }

    pub fn stats(&self) -> MatchStats {
        self.stats
    }

    /// Send events waiting for their captured copy.
    pub fn pending(&self) -> usize {
        self.pending_total
    }

    /// Take one send event (in the order the ring buffer gave them).
    pub fn push(&mut self, event: SendEvent) {
        self.sends += 1;
        let port_key = (event.netns, event.protocol, event.portid);
        if !self.ports.contains_key(&port_key) && self.ports.len() >= self.limits.max_ports {
            self.evict_port();
        }
        self.ports.insert(
            port_key,
            Port {
                process: event.process(),
                last: self.sends,
            },
        );
        // Only a message sent to the kernel is captured as to-kernel; the others (user to user,
        // multicast) only teach the port table.
        if !matches!(
            event.kind,
            SendKind::Unicast { dst: 0 } | SendKind::Consumed
        ) {
            return;
        }
        if self.pending_total >= self.limits.max_pending {
            self.drop_oldest_pending();
        }
        self.pending
            .entry((event.netns, event.protocol))
            .or_default()
            .push_back(Pending {
                event,
                arrived: self.seen,
                tainted: false,
            });
        self.pending_total += 1;
    }

    fn evict_port(&mut self) {
        let oldest = self
            .ports
            .iter()
            .min_by_key(|(_, port)| port.last)
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.ports.remove(&key);
            self.stats.ports_evicted += 1;
        }
    }

    fn drop_oldest_pending(&mut self) {
        let oldest = self
            .pending
            .iter()
            .filter_map(|(key, queue)| queue.front().map(|p| (p.arrived, *key)))
            .min();
        if let Some((_, key)) = oldest {
            if let Some(queue) = self.pending.get_mut(&key) {
                queue.pop_front();
                self.pending_total -= 1;
                self.stats.expired += 1;
            }
        }
    }

    fn expire(&mut self) {
        let seen = self.seen;
        let max_age = self.limits.max_age;
        let mut dropped = 0;
        for queue in self.pending.values_mut() {
            while queue
                .front()
                .is_some_and(|p| seen.saturating_sub(p.arrived) > max_age)
            {
                queue.pop_front();
                dropped += 1;
            }
        }
        self.pending.retain(|_, queue| !queue.is_empty());
        self.pending_total -= dropped;
        self.stats.expired += dropped as u64;
    }

    /// The process behind one captured message, if it is known (see the module documentation).
    pub fn attribute(&mut self, msg: &CapturedMsg<'_>) -> Option<Process> {
        self.seen += 1;
        self.expire();
        // The header through the netlink library; a message too short for one names nobody.
        let header = NetlinkBuffer::new_checked(msg.bytes).ok()?;
        let (nlmsg_len, nlmsg_pid) = (header.length(), header.port_number());
        let found = match msg.direction {
            Direction::ToKernel => self.take_request(msg, nlmsg_len),
            Direction::ToUser => {
                if nlmsg_pid == 0 {
                    return None;
                }
                self.ports
                    .get(&(msg.netns, msg.protocol, nlmsg_pid))
                    .and_then(|port| port.process.clone())
            }
        };
        if found.is_some() {
            self.stats.attributed += 1;
        }
        found
    }

    fn take_request(&mut self, msg: &CapturedMsg<'_>, nlmsg_len: u32) -> Option<Process> {
        let key = (msg.netns, msg.protocol);
        let Some(queue) = self.pending.get_mut(&key) else {
            self.stats.unmatched += 1;
            return None;
        };
        // A send recorded after the message was captured (with slack) is not it: causality
        // tells apart equal requests of processes that ran one after the other.
        let latest = msg
            .captured_ns
            .map_or(u64::MAX, |t| t.saturating_add(CAUSALITY_SLACK_NS));
        let mut equal = queue
            .iter()
            .enumerate()
            // (the consume_skb fallback records after the capture by design: no such bound)
            .filter(|(_, p)| p.event.kind == SendKind::Consumed || p.event.ktime_ns <= latest)
            .filter(|(_, p)| same_message(&p.event, msg.bytes, nlmsg_len))
            .map(|(i, _)| i);
        let Some(first) = equal.next() else {
            self.stats.unmatched += 1;
            return None;
        };
        let others: Vec<usize> = equal.collect();
        let ident = |p: &Pending| (p.event.tgid, p.event.tid);
        let mut ambiguous = queue[first].tainted;
        let first_ident = ident(&queue[first]);
        if others.iter().any(|&i| ident(&queue[i]) != first_ident) {
            ambiguous = true;
            // Whichever is taken now, the ones left cannot be told apart from it either.
            for &i in &others {
                queue[i].tainted = true;
            }
        }
        let taken = queue.remove(first);
        if queue.is_empty() {
            self.pending.remove(&key);
        }
        self.pending_total -= 1;
        if ambiguous {
            self.stats.ambiguous += 1;
            return None;
        }
        taken.and_then(|p| p.event.process())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETNS: u32 = 4026531840;
    const ROUTE: u16 = 0;
    const RTM_NEWLINK: u16 = 16;

    /// A netlink message: header (little-endian, as on this machine) and a payload.
    fn message(kind: u16, seq: u32, pid: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len() as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&len.to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&0x0605u16.to_ne_bytes());
        bytes.extend_from_slice(&seq.to_ne_bytes());
        bytes.extend_from_slice(&pid.to_ne_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    fn event(pid: u32, portid: u32, bytes: &[u8]) -> SendEvent {
        SendEvent {
            ktime_ns: 0,
            netns: NETNS,
            protocol: ROUTE,
            portid,
            kind: SendKind::Unicast { dst: 0 },
            tgid: pid,
            tid: pid,
            comm: format!("p{pid}"),
            nlmsg_len: bytes.len() as u32,
            nlmsg_type: u16::from_ne_bytes([bytes[4], bytes[5]]),
            nlmsg_flags: 0x0605,
            nlmsg_seq: 0,
            nlmsg_pid: 0,
            index: 0,
            data: bytes[..bytes.len().min(256)].to_vec(),
        }
    }

    fn to_kernel(bytes: &[u8]) -> CapturedMsg<'_> {
        CapturedMsg {
            netns: NETNS,
            protocol: ROUTE,
            direction: Direction::ToKernel,
            bytes,
            captured_ns: None,
        }
    }

    fn to_user(bytes: &[u8]) -> CapturedMsg<'_> {
        CapturedMsg {
            direction: Direction::ToUser,
            ..to_kernel(bytes)
        }
    }

    fn pid_of(found: Option<Process>) -> Option<u32> {
        found.map(|p| p.pid)
    }

    #[test]
    fn a_request_is_its_senders() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 1, 0, b"dummy0..");
        m.push(event(4242, 4242, &req));
        let found = m.attribute(&to_kernel(&req));
        assert_eq!(
            found,
            Some(Process {
                pid: 4242,
                tid: Some(4242),
                comm: "p4242".into(),
                source: Source::Bpf,
                cmdline: None,
            })
        );
        assert_eq!(m.pending(), 0);
        assert_eq!(m.stats().attributed, 1);
        // consumed: the same bytes again (a retransmission nobody sent) name nobody
        assert_eq!(m.attribute(&to_kernel(&req)), None);
        assert_eq!(m.stats().unmatched, 1);
    }

    #[test]
    fn requests_are_told_apart_by_their_bytes() {
        let mut m = Matcher::new(Limits::default());
        let a = message(RTM_NEWLINK, 1, 0, b"aaaa");
        let b = message(RTM_NEWLINK, 1, 0, b"bbbb");
        m.push(event(1, 1, &a));
        m.push(event(2, 2, &b));
        // captured in the other order
        assert_eq!(pid_of(m.attribute(&to_kernel(&b))), Some(2));
        assert_eq!(pid_of(m.attribute(&to_kernel(&a))), Some(1));
    }

    #[test]
    fn equal_requests_of_one_process_go_in_order() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 7, 0, b"same");
        let mut first = event(10, 10, &req);
        first.comm = "first".into();
        let mut second = event(10, 10, &req);
        second.comm = "second".into();
        m.push(first);
        m.push(second);
        assert_eq!(
            m.attribute(&to_kernel(&req)).map(|p| p.comm),
            Some("first".into())
        );
        assert_eq!(
            m.attribute(&to_kernel(&req)).map(|p| p.comm),
            Some("second".into())
        );
        assert_eq!(m.stats().ambiguous, 0);
    }

    #[test]
    fn equal_requests_of_different_processes_name_nobody() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 7, 0, b"same");
        m.push(event(10, 10, &req));
        m.push(event(11, 11, &req));
        assert_eq!(m.attribute(&to_kernel(&req)), None);
        // the one left cannot be told from the one taken either
        assert_eq!(m.attribute(&to_kernel(&req)), None);
        assert_eq!(m.stats().ambiguous, 2);
        assert_eq!(m.pending(), 0);
        // a later, lone one is fine again
        m.push(event(12, 12, &req));
        assert_eq!(pid_of(m.attribute(&to_kernel(&req))), Some(12));
    }

    #[test]
    fn a_send_after_the_capture_is_not_a_candidate() {
        let mut m = Matcher::new(Limits::default());
        // ip's probe: the same bytes from every process
        let req = message(RTM_NEWLINK, 0, 0, b"");
        let mut first = event(10, 10, &req);
        first.ktime_ns = 1_000_000_000;
        let mut second = event(11, 11, &req);
        second.ktime_ns = 1_050_000_000; // 50 ms later: after the first was captured
        m.push(first);
        m.push(second);
        let at = |ns| CapturedMsg {
            captured_ns: Some(ns),
            ..to_kernel(&req)
        };
        assert_eq!(pid_of(m.attribute(&at(1_000_100_000))), Some(10));
        assert_eq!(pid_of(m.attribute(&at(1_050_100_000))), Some(11));
        assert_eq!(m.stats().ambiguous, 0);
        // within the slack, both stay candidates: nobody
        let mut a = event(12, 12, &req);
        a.ktime_ns = 2_000_000_000;
        let mut b = event(13, 13, &req);
        b.ktime_ns = 2_000_000_000 + CAUSALITY_SLACK_NS / 2;
        m.push(a);
        m.push(b);
        assert_eq!(m.attribute(&at(2_000_000_000)), None);
        assert_eq!(
            m.attribute(&at(2_000_000_000)),
            None,
            "the one left is tainted"
        );
        assert_eq!(m.stats().ambiguous, 2);
        // a send recorded long after the capture is no candidate, even when alone
        m.push(event(14, 14, &req));
        let mut late = event(15, 15, &req);
        late.ktime_ns = 9_000_000_000;
        m.push(late);
        assert_eq!(pid_of(m.attribute(&at(5_000_000_000))), Some(14));
        assert_eq!(m.attribute(&at(5_000_000_000)), None);
        assert_eq!(m.stats().unmatched, 1);
        assert_eq!(m.pending(), 1, "it waits for its own capture");
        assert_eq!(pid_of(m.attribute(&at(9_000_000_001))), Some(15));
    }

    #[test]
    fn the_fallbacks_events_come_after_the_capture() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 3, 0, b"late");
        let mut consumed = event(20, 20, &req);
        consumed.kind = SendKind::Consumed;
        consumed.ktime_ns = 7_000_000_000;
        m.push(consumed);
        let msg = CapturedMsg {
            captured_ns: Some(1_000_000_000),
            ..to_kernel(&req)
        };
        assert_eq!(pid_of(m.attribute(&msg)), Some(20));
    }

    #[test]
    fn threads_of_one_process_are_different_senders() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 7, 0, b"same");
        let mut other_thread = event(10, 10, &req);
        other_thread.tid = 13;
        m.push(event(10, 10, &req));
        m.push(other_thread);
        assert_eq!(m.attribute(&to_kernel(&req)), None);
    }

    #[test]
    fn namespace_protocol_and_length_must_agree() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 1, 0, b"abcd");
        let mut elsewhere = event(1, 1, &req);
        elsewhere.netns = NETNS + 1;
        let mut other_protocol = event(2, 2, &req);
        other_protocol.protocol = 12;
        let mut longer = event(3, 3, &req);
        longer.nlmsg_len += 4;
        m.push(elsewhere);
        m.push(other_protocol);
        m.push(longer);
        assert_eq!(m.attribute(&to_kernel(&req)), None);
        assert_eq!(m.stats().unmatched, 1);
        assert_eq!(m.pending(), 3);
    }

    #[test]
    fn a_long_message_matches_on_its_prefix() {
        let mut m = Matcher::new(Limits::default());
        let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let req = message(RTM_NEWLINK, 1, 0, &payload);
        let ev = event(5, 5, &req);
        assert_eq!(ev.data.len(), 256);
        m.push(ev);
        // differing after the prefix still matches (only the prefix was recorded) …
        let mut tail_differs = req.clone();
        if let Some(last) = tail_differs.last_mut() {
            *last ^= 0xff;
        }
        assert_eq!(pid_of(m.attribute(&to_kernel(&tail_differs))), Some(5));
        // … inside it does not
        m.push(event(5, 5, &req));
        let mut head_differs = req.clone();
        head_differs[100] ^= 0xff;
        assert_eq!(m.attribute(&to_kernel(&head_differs)), None);
    }

    #[test]
    fn replies_and_notifications_go_to_the_ports_owner() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 9, 0, b"req.");
        m.push(event(4242, 4242, &req));
        assert_eq!(pid_of(m.attribute(&to_kernel(&req))), Some(4242));
        let ack = message(2, 9, 4242, &[0; 20]);
        assert_eq!(pid_of(m.attribute(&to_user(&ack))), Some(4242));
        let notification = message(RTM_NEWLINK, 9, 4242, b"link");
        assert_eq!(pid_of(m.attribute(&to_user(&notification))), Some(4242));
        // the kernel's own (port 0), and a port nobody was seen sending from
        assert_eq!(
            m.attribute(&to_user(&message(RTM_NEWLINK, 0, 0, b"link"))),
            None
        );
        assert_eq!(
            m.attribute(&to_user(&message(RTM_NEWLINK, 3, 777, b"x"))),
            None
        );
        // a port of another namespace is another port
        let other_ns = CapturedMsg {
            netns: NETNS + 1,
            ..to_user(&ack)
        };
        assert_eq!(m.attribute(&other_ns), None);
    }

    #[test]
    fn a_port_names_its_latest_sender() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 1, 0, b"one.");
        m.push(event(100, 0x8000_0001, &req));
        let mut later = event(200, 0x8000_0001, &message(RTM_NEWLINK, 2, 0, b"two."));
        later.comm = "later".into();
        m.push(later);
        let ack = message(2, 2, 0x8000_0001, &[0; 20]);
        assert_eq!(
            m.attribute(&to_user(&ack)).map(|p| p.comm),
            Some("later".into())
        );
    }

    #[test]
    fn multicast_and_user_to_user_sends_only_teach_ports() {
        let mut m = Matcher::new(Limits::default());
        let msg = message(RTM_NEWLINK, 1, 55, b"mcst");
        let mut multicast = event(55, 55, &msg);
        multicast.kind = SendKind::Broadcast { group: 1 };
        let mut unicast = event(55, 55, &msg);
        unicast.kind = SendKind::Unicast { dst: 66 };
        m.push(multicast);
        m.push(unicast);
        assert_eq!(m.pending(), 0);
        assert_eq!(m.attribute(&to_kernel(&msg)), None);
        assert_eq!(pid_of(m.attribute(&to_user(&msg))), Some(55));
    }

    #[test]
    fn old_events_expire() {
        let limits = Limits {
            max_age: 3,
            ..Limits::default()
        };
        let mut m = Matcher::new(limits);
        let req = message(RTM_NEWLINK, 1, 0, b"late");
        m.push(event(1, 1, &req));
        let other = message(RTM_NEWLINK, 2, 0, b"othr");
        for _ in 0..3 {
            assert_eq!(m.attribute(&to_kernel(&other)), None);
        }
        assert_eq!(m.pending(), 1, "3 messages later it still waits");
        assert_eq!(m.attribute(&to_kernel(&req)), None, "the 4th is too late");
        assert_eq!(m.stats().expired, 1);
        assert_eq!(m.pending(), 0);
    }

    #[test]
    fn pending_events_are_bounded() {
        let limits = Limits {
            max_pending: 4,
            ..Limits::default()
        };
        let mut m = Matcher::new(limits);
        let reqs: Vec<Vec<u8>> = (0..6u32)
            .map(|i| message(RTM_NEWLINK, i, 0, b"many"))
            .collect();
        for (i, req) in reqs.iter().enumerate() {
            m.push(event(i as u32 + 1, 1, req));
        }
        assert_eq!(m.pending(), 4);
        assert_eq!(m.stats().expired, 2);
        // the two oldest went
        assert_eq!(m.attribute(&to_kernel(&reqs[0])), None);
        assert_eq!(pid_of(m.attribute(&to_kernel(&reqs[5]))), Some(6));
    }

    #[test]
    fn ports_are_bounded() {
        let limits = Limits {
            max_ports: 2,
            ..Limits::default()
        };
        let mut m = Matcher::new(limits);
        for port in 1..=3u32 {
            let mut ev = event(port, port, &message(RTM_NEWLINK, port, 0, b"port"));
            ev.kind = SendKind::Broadcast { group: 1 };
            m.push(ev);
        }
        assert_eq!(m.stats().ports_evicted, 1);
        let ack = |port| message(2, port, port, &[0; 20]);
        assert_eq!(
            m.attribute(&to_user(&ack(1))),
            None,
            "the least recent went"
        );
        assert_eq!(pid_of(m.attribute(&to_user(&ack(2)))), Some(2));
        assert_eq!(pid_of(m.attribute(&to_user(&ack(3)))), Some(3));
    }

    #[test]
    fn a_sender_outside_our_pid_namespace_is_nobody() {
        let mut m = Matcher::new(Limits::default());
        let req = message(RTM_NEWLINK, 1, 0, b"hide");
        m.push(event(0, 77, &req));
        assert_eq!(m.attribute(&to_kernel(&req)), None);
        assert_eq!(m.pending(), 0, "its event is used up all the same");
        assert_eq!(m.attribute(&to_user(&message(2, 1, 77, &[0; 20]))), None);
        assert_eq!(m.stats().attributed, 0);
    }

    #[test]
    fn garbage_names_nobody() {
        let mut m = Matcher::new(Limits::default());
        assert_eq!(m.attribute(&to_kernel(&[1, 2, 3])), None);
        assert_eq!(m.attribute(&to_user(&[])), None);
        // a header whose length exceeds the bytes
        let mut bad = message(RTM_NEWLINK, 1, 5, b"abcd");
        bad[0] = 200;
        m.push(event(5, 5, &message(RTM_NEWLINK, 1, 0, b"abcd")));
        assert_eq!(m.attribute(&to_user(&bad)), None);
    }
}
