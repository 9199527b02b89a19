//! The /proc fallback (issue 10): who sent a message when the eBPF program cannot load, and
//! the process tree `--pid` and `trace --only-cmd` keep (with or without eBPF).
//!
//! What it knows, each attribution labelled `"proc"`:
//! - **proc connector events** (`Tracker`): fork, exec, comm and exit, read by a thread of
//!   their own as they come. A process is looked up in /proc at its fork and exec, while it
//!   still exists (its comm, its argv, its pid in its own pid namespace), and remembered after it
//!   exits, with the times it lived. Fork events also give the tree `--pid` follows.
//! - **the autobind rule**: a process's first netlink socket gets its tgid, as its own pid
//!   namespace numbers it, as port id. A message to port P is named by the one process alive
//!   at that moment with that number; two such processes (two pid namespaces) name nobody.
//! - **`/proc/net/netlink` of the captured namespace** (socket inode per port) matched against
//!   `/proc/*/fd`, for a port no pid explains (a second socket, an explicit bind): only while
//!   that socket is still open, rescanned at most every `SCAN_EVERY`.
//!
//! A request's nlmsg_pid is the sender's to choose (most leave it 0), so a request is named by
//! its answers in the same block of the capture: the ACK or error that quotes its header, or
//! the replies with its sequence number, when all of them go to one port.
//!
//! Without the proc connector (not the initial network or pid namespace, no CAP_NET_ADMIN)
//! only what /proc shows at the moment a packet is written is used: processes that already
//! exited are missed. Every miss leaves the record without a process; nothing is guessed.

mod events;
mod procfs;
mod requests;
mod table;

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Condvar, Mutex};

use super::matcher::Direction;
use super::CapturedPacket;
use crate::capture::decode::{header, split, Header};
use crate::capture::process::{Process, Source};
use events::{catch_up, lock, Shared, Tracker};
use procfs::{all_pids, read_status, PortScan};
use requests::{Answer, Requests};
use table::{Entry, Table, Tree};

/// `--pid` without events: the parent chain walked at most this far.
const ANCESTRY_DEPTH: usize = 128;

/// How a process is chosen for a packet (`--pid`, `--comm`, `trace --only-cmd`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--pid`: this process and its descendants (`with_root` false: the descendants only).
    pub pid: Option<(u32, bool)>,
    /// `--comm`: the sender's command name, exactly.
    pub comm: Option<String>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.pid.is_none() && self.comm.is_none()
    }
}

/// The fallback and the process tree: a table fed by proc connector events (when it can
/// subscribe) and /proc, and a port scan of the captured namespace.
pub struct ProcEngine {
    shared: Arc<Shared>,
    tracker: Option<Tracker>,
    /// Why there are no events (None when there are).
    pub no_events: Option<String>,
    ports: Option<PortScan>,
    comm: Option<String>,
    filtering_by_pid: bool,
    requests: Requests,
    active: bool,
}

impl ProcEngine {
    /// Start the fallback. `netlink_table`: the captured namespace's /proc/net/netlink, opened
    /// there. `active` false (eBPF names the processes, no `--pid`, no `--cmdline`): no events,
    /// no /proc scan, only `--comm` is applied. Err only when `--pid` names no process (ESRCH).
    pub fn start(
        netlink_table: Option<File>,
        selection: &Selection,
        cmdline: bool,
        active: bool,
    ) -> crate::netlink::error::Result<ProcEngine> {
        if let Some((root, _)) = selection.pid {
            if read_status(root).is_none() {
                return Err(crate::netlink::error::Error::errno(libc::ESRCH, "--pid"));
            }
        }
        let shared = Arc::new(Shared {
            table: Mutex::new(Table::new(cmdline)),
            read_up_to: Condvar::new(),
        });
        // Subscribe first, then read /proc: a process forked in between is in both, never in
        // neither.
        let (tracker, no_events) = match active.then(|| Tracker::start(&shared, cmdline)) {
            Some(Ok(t)) => (Some(t), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        if active {
            let mut table = lock(&shared.table);
            let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
            for pid in all_pids() {
                let Some(s) = read_status(pid) else {
                    continue;
                };
                children.entry(s.ppid).or_default().push(pid);
                if s.tgid == pid && !table.current.contains_key(&pid) {
                    let argv = cmdline.then(|| super::cmdline(pid)).flatten();
                    table.insert(pid, &s, 0, argv);
                }
            }
            if let Some((root, with_root)) = selection.pid {
                table.tree = Some(Tree::of(root, with_root, &children));
            }
        }
        Ok(ProcEngine {
            shared,
            tracker,
            no_events,
            ports: netlink_table.map(PortScan::new),
            comm: selection.comm.clone(),
            filtering_by_pid: selection.pid.is_some(),
            requests: Requests::default(),
            active,
        })
    }

    /// Whether it names processes (started `active`).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Events the connector socket could not hold (ENOBUFS), so far.
    pub fn lost_events(&self) -> u64 {
        lock(&self.shared.table).lost
    }

    /// The processes behind a block's packets (index for index), named by the fallback.
    pub fn attribute(
        &mut self,
        packets: &[CapturedPacket<'_>],
        cmdline: bool,
    ) -> Vec<Option<Process>> {
        let newest = packets.iter().filter_map(|p| p.captured_ns).max();
        let events = self.tracker.is_some();
        let mut table = catch_up(&self.shared, self.tracker.as_ref(), newest);
        let ports = &mut self.ports;
        let to_process = |e: &Entry| -> Option<Process> {
            Some(Process {
                pid: e.tgid,
                tid: None,
                comm: e.comm.clone()?,
                source: Source::Proc,
                cmdline: if cmdline {
                    e.cmdline.clone().or_else(|| super::cmdline(e.tgid))
                } else {
                    None
                },
            })
        };
        let mut owner = |protocol: u16, port: u32, t: Option<u64>| -> Option<Process> {
            if port == 0 {
                return None;
            }
            // a socket seen in the last scan, its holder alive then
            if let Some(tgid) = ports.as_mut().and_then(|s| s.owner(protocol, port, false)) {
                if let Some(e) = table.by_tgid(tgid, t) {
                    return to_process(e);
                }
            }
            if let Some(e) = table.autobound(port, t) {
                return to_process(e);
            }
            // without events, /proc as it is now is all there is
            if !events && table.learn_now(port) {
                if let Some(e) = table.autobound(port, t) {
                    return to_process(e);
                }
            }
            let tgid = ports.as_mut()?.owner(protocol, port, true)?;
            if !events && table.by_tgid(tgid, t).is_none() {
                table.learn_now(tgid);
            }
            table.by_tgid(tgid, t).and_then(to_process)
        };
        // Every message: (packet index, header, its bytes).
        let mut to_user: HashMap<(u16, u32), Vec<Answer>> = HashMap::new();
        let mut requests: Vec<(usize, Header)> = Vec::new();
        let mut named: Vec<Option<Process>> = vec![None; packets.len()];
        for (i, p) in packets.iter().enumerate() {
            let mut first_request = None;
            let _ = split(p.data, false, |h, bytes| {
                match Direction::of(p.pkttype, h.flags) {
                    Direction::ToKernel => {
                        first_request.get_or_insert(h);
                    }
                    Direction::ToUser => {
                        if named[i].is_none() {
                            named[i] = owner(p.protocol, h.port, p.captured_ns);
                        }
                        if h.port != 0 {
                            // an ACK or error quotes the request's header
                            let quoted = (h.msg_type == libc::NLMSG_ERROR as u16)
                                .then(|| bytes.get(20..36).and_then(header))
                                .flatten();
                            to_user
                                .entry((p.protocol, h.seq))
                                .or_default()
                                .push((i, h.port, quoted));
                        }
                    }
                }
            });
            if let Some(h) = first_request {
                requests.push((i, h));
            }
        }
        let newest = packets.iter().filter_map(|p| p.captured_ns).max();
        for (i, port) in self.requests.answer(packets, &requests, &to_user, newest) {
            named[i] = owner(packets[i].protocol, port, packets[i].captured_ns);
        }
        named
    }

    /// The argv remembered for each (pid, capture time) at its exec (`--cmdline` with eBPF: the
    /// process may be gone by the time its packet is written): the events read once, up to the
    /// newest time asked for.
    pub fn cmdlines_at_exec(&self, wanted: &[(u32, Option<u64>)]) -> Vec<Option<Vec<String>>> {
        if wanted.is_empty() {
            return Vec::new();
        }
        let newest = wanted.iter().filter_map(|(_, t)| *t).max();
        let table = catch_up(&self.shared, self.tracker.as_ref(), newest);
        wanted
            .iter()
            .map(|(pid, t)| table.by_tgid(*pid, *t)?.cmdline.clone())
            .collect()
    }

    /// Whether `--pid`/`--comm` keep a packet of this process (none: not kept). Call after
    /// `attribute` or `catch_up` for the packet's time.
    pub fn keeps(&self, process: Option<&Process>, t: Option<u64>) -> bool {
        let Some(process) = process else {
            return false;
        };
        if self.comm.as_ref().is_some_and(|c| *c != process.comm) {
            return false;
        }
        if !self.filtering_by_pid {
            return true;
        }
        let mut table = catch_up(&self.shared, self.tracker.as_ref(), t);
        let events = self.tracker.is_some();
        let Some(tree) = table.tree.as_mut() else {
            return false;
        };
        if tree.contains(process.pid) {
            return true;
        }
        if events {
            return false;
        }
        // No fork events: walk the parent chain as /proc shows it now.
        let mut pid = process.pid;
        for _ in 0..ANCESTRY_DEPTH {
            let Some(s) = read_status(pid) else {
                return false;
            };
            if tree.adopt(process.pid, s.ppid) {
                return tree.contains(process.pid);
            }
            if s.ppid <= 1 {
                return false;
            }
            pid = s.ppid;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::requests::tests::message;
    use super::table::CLOCK_SLACK_NS;
    use super::*;
    use crate::attribution::clock::monotonic_ns;
    /// On this machine's kernel (root): a process that exited before its packets are looked
    /// at is still named, from the proc connector's events and the /proc read at its exec; a
    /// request by the ACK that quotes it; the tree of nlmonctl's descendants keeps it.
    #[test]
    fn an_exited_process_is_named_from_the_events() {
        use std::io::Write;
        let me = std::process::id();
        let selection = Selection {
            pid: Some((me, false)),
            comm: None,
        };
        let engine = ProcEngine::start(None, &selection, true, true);
        let Ok(mut engine) = engine else {
            panic!("start");
        };
        assert_eq!(engine.no_events, None, "the proc connector is needed here");
        let child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            panic!("cat");
        };
        let pid = child.id();
        let alive_at = monotonic_ns();
        if let Some(stdin) = child.stdin.as_mut() {
            let _ = stdin.write_all(b"");
        }
        drop(child.stdin.take());
        assert!(child.wait().is_ok_and(|s| s.success()));
        assert!(read_status(pid).is_none(), "cat is gone from /proc");
        let request = message(18, 0x5, 7, 0, &[0; 16]);
        let mut error = 0i32.to_ne_bytes().to_vec();
        error.extend_from_slice(&request[..16]);
        let ack = message(2, 0x100, 7, pid, &error);
        let other_ack = message(2, 0x100, 8, 4_000_000_000, &error);
        let view = |pkttype, data| CapturedPacket {
            protocol: 0,
            pkttype,
            captured_ns: Some(alive_at),
            data,
        };
        let named = engine.attribute(
            &[view(7, &request), view(6, &ack), view(6, &other_ack)],
            true,
        );
        let who = |i: usize| {
            named[i]
                .as_ref()
                .map(|p| (p.pid, p.tid, p.comm.clone(), p.source))
        };
        let cat = Some((pid, None, "cat".to_string(), Source::Proc));
        assert_eq!((who(0), who(1), who(2)), (cat.clone(), cat, None));
        assert_eq!(
            named[1].as_ref().and_then(|p| p.cmdline.clone()),
            Some(vec!["cat".to_string()])
        );
        assert!(
            engine.keeps(named[1].as_ref(), Some(alive_at)),
            "cat is nlmonctl's child"
        );
        let me_too = Process {
            pid: me,
            ..named[1].clone().unwrap_or_else(|| panic!("named"))
        };
        assert!(
            !engine.keeps(Some(&me_too), Some(alive_at)),
            "descendants only"
        );
        assert!(!engine.keeps(None, Some(alive_at)));
        // after its exit, the port names nobody
        let later = CapturedPacket {
            captured_ns: Some(monotonic_ns() + 10 * CLOCK_SLACK_NS),
            ..view(6, &ack)
        };
        assert_eq!(engine.attribute(&[later], false)[0], None);
    }
}
