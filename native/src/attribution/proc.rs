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

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clock::monotonic_ns;
use super::matcher::Direction;
use super::CapturedPacket;
use crate::capture::connector;
use crate::capture::decode::{header, split, Header};
use crate::capture::process::{Process, Source};

/// How far a message's stamp may lie outside a process's life (fork to exit) and still be its:
/// the two clocks (the ring's realtime stamp moved by an offset, the events' monotonic one)
/// agree to well within this. A pid reused inside it names nobody (two candidates).
const CLOCK_SLACK_NS: u64 = 2_000_000;
/// Exited processes remembered (the capture's writer may be this far behind the events).
const GONE_KEPT: usize = 16_384;
/// Port scans (/proc/net/netlink + /proc/*/fd) at most this often.
const SCAN_EVERY: Duration = Duration::from_millis(500);
/// How long the writer waits for the event reader to have read up to a packet's time.
const CATCH_UP_BOUND: Duration = Duration::from_millis(200);
/// How long start() waits for the connector to confirm the subscription.
const LISTEN_BOUND: Duration = Duration::from_secs(1);
/// `--pid` without events: the parent chain walked at most this far.
const ANCESTRY_DEPTH: usize = 128;

/// What /proc says of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Status {
    tgid: u32,
    ppid: u32,
    /// Its pid in its own pid namespace (NSpid's last field): its first socket's port id.
    inner: u32,
    comm: Option<String>,
}

/// Tgid, PPid and NSpid of a /proc/PID/status text.
fn parse_status(text: &str) -> Option<(u32, u32, u32)> {
    let (mut tgid, mut ppid, mut inner) = (None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Tgid" => tgid = value.trim().parse().ok(),
            "PPid" => ppid = value.trim().parse().ok(),
            "NSpid" => inner = value.split_whitespace().last().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    let tgid = tgid?;
    // kernels before 4.1 have no NSpid: one pid namespace as far as they tell
    Some((tgid, ppid?, inner.unwrap_or(tgid)))
}

fn read_comm(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
    Some(String::from_utf8_lossy(raw).into_owned())
}

fn read_status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let (tgid, ppid, inner) = parse_status(&text)?;
    Some(Status {
        tgid,
        ppid,
        inner,
        comm: read_comm(pid),
    })
}

/// Every pid /proc lists.
fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether nlmonctl runs in the initial pid namespace (its NSpid has one field): only there do
/// the proc connector's pids (the initial namespace's) match what /proc and the records show.
fn in_initial_pid_namespace() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|v| v.split_whitespace().count() == 1)
        })
        .unwrap_or(false)
}

/// One process as remembered: from a /proc read at fork, exec or start, until its exit.
#[derive(Debug, Clone)]
struct Entry {
    tgid: u32,
    inner: u32,
    comm: Option<String>,
    cmdline: Option<Vec<String>>,
    /// Fork time (CLOCK_MONOTONIC ns); 0 when it ran before the capture.
    since_ns: u64,
    until_ns: Option<u64>,
}

impl Entry {
    fn alive_at(&self, t: Option<u64>) -> bool {
        match t {
            None => self.until_ns.is_none(),
            Some(t) => {
                self.since_ns <= t.saturating_add(CLOCK_SLACK_NS)
                    && self
                        .until_ns
                        .is_none_or(|u| t <= u.saturating_add(CLOCK_SLACK_NS))
            }
        }
    }
}

/// The processes `--pid` keeps: the root and every descendant, those forked later included.
#[derive(Debug, Clone)]
pub struct Tree {
    root: u32,
    /// false: the descendants only (`trace --only-cmd`: nlmonctl's children, not itself).
    with_root: bool,
    members: HashSet<u32>,
}

impl Tree {
    /// The tree of `root` from a parent → children map of /proc as it is now.
    fn of(root: u32, with_root: bool, children: &HashMap<u32, Vec<u32>>) -> Tree {
        let mut members = HashSet::new();
        let mut todo = vec![root];
        while let Some(pid) = todo.pop() {
            if members.insert(pid) {
                todo.extend(children.get(&pid).into_iter().flatten());
            }
        }
        Tree {
            root,
            with_root,
            members,
        }
    }

    fn contains(&self, pid: u32) -> bool {
        (self.with_root || pid != self.root) && self.members.contains(&pid)
    }
}

/// What the events and /proc reads told: every process remembered, by its autobind port.
#[derive(Default)]
struct Table {
    /// Remembered processes by their pid in their own namespace (= their first port id).
    by_inner: HashMap<u32, Vec<Entry>>,
    /// tgid → `inner` of the process holding that tgid now.
    current: HashMap<u32, u32>,
    /// Exits in order: (inner, tgid, until), the oldest forgotten first.
    gone: VecDeque<(u32, u32, u64)>,
    /// Every event sent before this time has been read (CLOCK_MONOTONIC ns).
    caught_up_ns: u64,
    /// The event reader stopped (an error): nobody waits for it.
    reader_ended: bool,
    /// Events the connector socket dropped (ENOBUFS).
    lost: u64,
    tree: Option<Tree>,
    /// Read each process's argv at its exec (--cmdline).
    cmdline: bool,
}

impl Table {
    fn current_mut(&mut self, tgid: u32) -> Option<&mut Entry> {
        let inner = *self.current.get(&tgid)?;
        self.by_inner
            .get_mut(&inner)?
            .iter_mut()
            .rev()
            .find(|e| e.tgid == tgid && e.until_ns.is_none())
    }

    fn end(&mut self, tgid: u32, at: u64) {
        if let Some(entry) = self.current_mut(tgid) {
            entry.until_ns = Some(at);
            let inner = entry.inner;
            self.gone.push_back((inner, tgid, at));
        }
        self.current.remove(&tgid);
        while self.gone.len() > GONE_KEPT {
            let Some((inner, tgid, until)) = self.gone.pop_front() else {
                break;
            };
            if let Some(list) = self.by_inner.get_mut(&inner) {
                list.retain(|e| !(e.tgid == tgid && e.until_ns == Some(until)));
                if list.is_empty() {
                    self.by_inner.remove(&inner);
                }
            }
        }
    }

    fn insert(&mut self, tgid: u32, status: &Status, since_ns: u64, cmdline: Option<Vec<String>>) {
        // A tgid held again: the previous holder has gone, whether or not its exit was seen.
        if self.current.contains_key(&tgid) {
            self.end(tgid, since_ns);
        }
        self.current.insert(tgid, status.inner);
        self.by_inner.entry(status.inner).or_default().push(Entry {
            tgid,
            inner: status.inner,
            comm: status.comm.clone(),
            cmdline,
            since_ns,
            until_ns: None,
        });
    }

    /// Fill from /proc as it is now (start, and lookups without events).
    fn learn_now(&mut self, pid: u32) -> bool {
        match read_status(pid) {
            Some(s) if s.tgid == pid => {
                let cmdline = self.cmdline.then(|| super::cmdline(pid)).flatten();
                self.insert(pid, &s, 0, cmdline);
                true
            }
            _ => false,
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Fork {
                parent,
                child,
                at,
                status,
            } => {
                if let Some(tree) = &mut self.tree {
                    if tree.members.contains(&parent) {
                        tree.members.insert(child);
                    } else {
                        // the pid was used before by a member: this is someone else
                        tree.members.remove(&child);
                    }
                }
                match status {
                    Some(s) => self.insert(child, &s, at, None),
                    None => self.end(child, at),
                }
            }
            Event::Exec {
                tgid,
                at,
                status,
                cmdline,
            } => match (self.current_mut(tgid), status) {
                (Some(entry), Some(s)) => {
                    entry.comm = s.comm;
                    entry.cmdline = cmdline;
                }
                (None, Some(s)) => self.insert(tgid, &s, at, cmdline),
                (_, None) => {}
            },
            Event::Comm { tgid, comm } => {
                if let Some(entry) = self.current_mut(tgid) {
                    entry.comm = Some(comm);
                }
            }
            Event::Exit { tgid, at } => self.end(tgid, at),
        }
    }

    /// The one process that owned port `port` at time `t` by the autobind rule.
    fn autobound(&self, port: u32, t: Option<u64>) -> Option<&Entry> {
        let mut alive = self.by_inner.get(&port)?.iter().filter(|e| e.alive_at(t));
        let one = alive.next()?;
        alive.next().is_none().then_some(one)
    }

    fn by_tgid(&self, tgid: u32, t: Option<u64>) -> Option<&Entry> {
        let find = |inner: u32| {
            self.by_inner
                .get(&inner)
                .and_then(|l| l.iter().rev().find(|e| e.tgid == tgid && e.alive_at(t)))
        };
        // most processes are numbered alike in their own pid namespace and here
        find(tgid)
            .or_else(|| self.current.get(&tgid).and_then(|inner| find(*inner)))
            .or_else(|| {
                self.gone
                    .iter()
                    .filter(|g| g.1 == tgid && g.0 != tgid)
                    .find_map(|g| find(g.0))
            })
    }
}

/// A proc connector event, with what /proc said of the process when it was read.
enum Event {
    Fork {
        parent: u32,
        child: u32,
        at: u64,
        status: Option<Status>,
    },
    Exec {
        tgid: u32,
        at: u64,
        status: Option<Status>,
        cmdline: Option<Vec<String>>,
    },
    Comm {
        tgid: u32,
        comm: String,
    },
    Exit {
        tgid: u32,
        at: u64,
    },
}

/// Turn one connector message into an event, reading /proc now for forks and execs (the
/// process may be gone a few ms later). Threads' forks and exits are not processes'.
fn event_of(message: &[u8], cmdline: bool) -> Option<Event> {
    let cn = connector::decode(message.get(16..)?).ok()?;
    let ev = cn.proc_event?;
    let field = |name| ev.field(name).and_then(|v| u32::try_from(v).ok());
    let at = ev.timestamp_ns;
    match ev.what_raw {
        w if w == libc::PROC_EVENT_FORK => {
            let child = field("child_tgid")?;
            if field("child_pid")? != child {
                return None;
            }
            Some(Event::Fork {
                parent: field("parent_tgid")?,
                child,
                at,
                status: read_status(child),
            })
        }
        w if w == libc::PROC_EVENT_EXEC => {
            let tgid = field("process_tgid")?;
            Some(Event::Exec {
                tgid,
                at,
                status: read_status(tgid),
                cmdline: cmdline.then(|| super::cmdline(tgid)).flatten(),
            })
        }
        w if w == libc::PROC_EVENT_COMM => {
            let tgid = field("process_tgid")?;
            (field("process_pid")? == tgid).then_some(Event::Comm {
                tgid,
                comm: ev.comm?,
            })
        }
        w if w == libc::PROC_EVENT_EXIT || w == libc::PROC_EVENT_NONZERO_EXIT => {
            let tgid = field("process_tgid")?;
            (field("process_pid")? == tgid).then_some(Event::Exit { tgid, at })
        }
        _ => None,
    }
}

struct Shared {
    table: Mutex<Table>,
    read_up_to: Condvar,
}

fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The proc connector subscription and the thread that reads it.
struct Tracker {
    wake: OwnedFd,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Tracker {
    /// Subscribe and start reading; Err says, in a few words, why there are no events.
    fn start(shared: &Arc<Shared>, cmdline: bool) -> std::result::Result<Tracker, String> {
        if !in_initial_pid_namespace() {
            return Err("nlmonctl runs in a pid namespace other than the initial one".into());
        }
        // SAFETY: plain socket(2); the fd is owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_CONNECTOR,
            )
        };
        if fd < 0 {
            return Err(format!(
                "no proc connector socket ({})",
                crate::netlink::error::errno_name(errno())
            ));
        }
        // SAFETY: fd was just returned by socket(2) and nothing else owns it.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        let size: libc::c_int = 8 << 20;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: an int option of the right size.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc == 0 {
                break;
            }
        }
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = libc::CN_IDX_PROC;
        let addr_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: addr is a sockaddr_nl of addr_len bytes.
        if unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_nl).cast(), addr_len) } != 0 {
            return Err(format!(
                "proc connector bind: {}",
                crate::netlink::error::errno_name(errno())
            ));
        }
        let mut bound_len = addr_len;
        // SAFETY: getsockname fills addr, at most bound_len bytes.
        unsafe {
            libc::getsockname(
                fd,
                (&mut addr as *mut libc::sockaddr_nl).cast(),
                &mut bound_len,
            )
        };
        let request = connector::proc_listen_request(addr.nl_pid);
        // SAFETY: request is a valid buffer of its length.
        let sent = unsafe { libc::send(fd, request.as_ptr().cast(), request.len(), 0) };
        if sent < 0 {
            return Err(format!(
                "proc connector subscription: {}",
                crate::netlink::error::errno_name(errno())
            ));
        }
        wait_for_ack(&socket)?;
        // SAFETY: plain eventfd(2); owned at once.
        let wake_fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake_fd < 0 {
            return Err("no eventfd".into());
        }
        // SAFETY: wake_fd was just returned by eventfd(2).
        let wake = unsafe { OwnedFd::from_raw_fd(wake_fd) };
        let wake_reader = wake.try_clone().map_err(|e| format!("eventfd: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stop_flag) = (Arc::clone(shared), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("nlmonctl-procev".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read_events(&socket, &wake_reader, &shared, &stop_flag, cmdline)
                }));
                let _ = outcome;
                let mut table = lock(&shared.table);
                table.reader_ended = true;
                shared.read_up_to.notify_all();
            })
            .map_err(|e| format!("thread: {e}"))?;
        Ok(Tracker {
            wake,
            stop,
            thread: Some(thread),
        })
    }

    fn poke(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to an eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.poke();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One datagram, without waiting: its length, or -1 with errno set.
fn recv_now(socket: &OwnedFd, buf: &mut [u8]) -> isize {
    // SAFETY: buf is valid for its length.
    unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    }
}

/// The connector answers a subscription with a PROC_EVENT_NONE carrying an errno (0: done);
/// outside the initial network namespace nothing answers.
fn wait_for_ack(socket: &OwnedFd) -> std::result::Result<(), String> {
    let deadline = Instant::now() + LISTEN_BOUND;
    let mut buf = vec![0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(
                "the proc connector did not answer (nlmonctl is not in the initial network namespace?)"
                    .into(),
            );
        }
        let mut pfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as libc::c_int) };
        let Ok(n) = usize::try_from(recv_now(socket, &mut buf)) else {
            continue;
        };
        let mut answer = None;
        let _ = split(&buf[..n], false, |_, message| {
            let event = message
                .get(16..)
                .and_then(|p| connector::decode(p).ok())
                .and_then(|cn| cn.proc_event);
            if let Some(ev) = event.filter(|ev| ev.what_raw == libc::PROC_EVENT_NONE) {
                answer = Some(ev.field("err").unwrap_or(0));
            }
        });
        match answer {
            Some(0) => return Ok(()),
            Some(e) => {
                let e = i32::try_from(e).unwrap_or(libc::EIO);
                return Err(if e == libc::EPERM {
                    "no privilege for the proc connector (CAP_NET_ADMIN)".into()
                } else {
                    format!(
                        "proc connector subscription: {}",
                        crate::netlink::error::errno_name(e)
                    )
                });
            }
            None => {}
        }
    }
}

/// The reader thread: every event, as soon as it comes, looked up in /proc and applied.
fn read_events(
    socket: &OwnedFd,
    wake: &OwnedFd,
    shared: &Shared,
    stop: &AtomicBool,
    cmdline: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let started = monotonic_ns();
        let mut events = Vec::new();
        let mut lost = 0u64;
        loop {
            match usize::try_from(recv_now(socket, &mut buf)) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = split(&buf[..n], false, |_, message| {
                        events.extend(event_of(message, cmdline));
                    });
                }
                Err(_) => match errno() {
                    libc::EINTR => {}
                    libc::ENOBUFS => lost += 1,
                    libc::EAGAIN => break,
                    _ => return,
                },
            }
        }
        {
            let mut table = lock(&shared.table);
            for event in events {
                table.apply(event);
            }
            table.lost += lost;
            table.caught_up_ns = started;
            shared.read_up_to.notify_all();
        }
        let mut fds = [
            libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, 250) };
        if fds[1].revents != 0 {
            let mut count = [0u8; 8];
            // SAFETY: reads 8 bytes into a valid buffer.
            unsafe { libc::read(wake.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        }
    }
}

/// Wait (bounded) until the event reader has read every event sent before `t`; the table then.
fn catch_up<'a>(
    shared: &'a Shared,
    tracker: Option<&Tracker>,
    t: Option<u64>,
) -> MutexGuard<'a, Table> {
    let mut table = lock(&shared.table);
    let (Some(tracker), Some(t)) = (tracker, t) else {
        return table;
    };
    if table.caught_up_ns >= t || table.reader_ended {
        return table;
    }
    tracker.poke();
    let deadline = Instant::now() + CATCH_UP_BOUND;
    while table.caught_up_ns < t && !table.reader_ended {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        table = shared
            .read_up_to
            .wait_timeout(table, left)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
    }
    table
}

/// Netlink sockets of the captured namespace, by port: who holds them, as /proc/*/fd tells.
struct PortScan {
    /// `/proc/net/netlink`, opened in the captured namespace (reread from its start).
    table: File,
    owners: HashMap<(u16, u32), u32>,
    inode_owner: HashMap<u64, u32>,
    last: Option<Instant>,
}

/// (protocol, port id, inode) of every socket a /proc/net/netlink text lists.
fn parse_netlink_table(text: &str) -> Vec<(u16, u32, u64)> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let col = |name| header.iter().position(|h| *h == name);
    let (Some(eth), Some(pid), Some(inode)) = (col("Eth"), col("Pid"), col("Inode")) else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            Some((
                cols.get(eth)?.parse().ok()?,
                cols.get(pid)?.parse().ok()?,
                cols.get(inode)?.parse().ok()?,
            ))
        })
        .collect()
}

impl PortScan {
    fn owner(&mut self, protocol: u16, port: u32, rescan: bool) -> Option<u32> {
        if let Some(owner) = self.owners.get(&(protocol, port)) {
            return Some(*owner);
        }
        if !rescan || self.last.is_some_and(|t| t.elapsed() < SCAN_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        let mut text = String::new();
        if self.table.seek(SeekFrom::Start(0)).is_err()
            || self.table.read_to_string(&mut text).is_err()
        {
            return None;
        }
        let sockets = parse_netlink_table(&text);
        let wanted: HashSet<u64> = sockets
            .iter()
            .map(|s| s.2)
            .filter(|i| !self.inode_owner.contains_key(i))
            .collect();
        if !wanted.is_empty() {
            for pid in all_pids() {
                let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                    continue;
                };
                for fd in fds.flatten() {
                    let Ok(target) = std::fs::read_link(fd.path()) else {
                        continue;
                    };
                    let inode = target
                        .to_str()
                        .and_then(|t| t.strip_prefix("socket:["))
                        .and_then(|t| t.strip_suffix(']'))
                        .and_then(|t| t.parse::<u64>().ok());
                    if let Some(inode) = inode.filter(|i| wanted.contains(i)) {
                        self.inode_owner.insert(inode, pid);
                    }
                }
            }
        }
        let live: HashSet<u64> = sockets.iter().map(|s| s.2).collect();
        self.inode_owner.retain(|inode, _| live.contains(inode));
        self.owners = sockets
            .iter()
            .filter_map(|(proto, port, inode)| {
                Some(((*proto, *port), *self.inode_owner.get(inode)?))
            })
            .collect();
        self.owners.get(&(protocol, port)).copied()
    }
}

/// A message to a port: (its packet's index in the block, the port, the request header an
/// ACK or error quotes).
type Answer = (usize, u32, Option<Header>);

/// How long a request unanswered in its block still counts, in capture time (its answers
/// follow within ms): while it does, a later request like it is not named by answers that
/// could be its.
const REQUEST_KEPT_NS: u64 = 5_000_000_000;
/// Unanswered requests remembered at most.
const REQUESTS_KEPT: usize = 4096;

/// A request no answer in its block was seen for.
#[derive(Debug, Clone, Copy)]
struct Unanswered {
    protocol: u16,
    header: Header,
    at: Option<u64>,
}

/// Requests named by their answers: the one owner of that rule.
///
/// - ACKs and errors quote the request's header, and each answers one request before it. Per
///   header, in capture order (the requests left unanswered by earlier blocks first): an ACK
///   that comes while one request with that header is open names that request. When several
///   are open, the ACK could be any one's: they form a cluster, named only if all of the
///   cluster's ACKs go to one port; a cluster still open at the block's end names nobody.
/// - A request no ACK has answered yet is named by the replies with its sequence number after
///   it, all to one port, when no other request (recent unanswered ones included) has that
///   sequence number.
#[derive(Default)]
struct Requests {
    unanswered: VecDeque<Unanswered>,
}

/// The requests with one header that are open (no ACK yet), while a block is read.
#[derive(Default)]
struct Open {
    /// This block's requests (packet index) or earlier ones (None), in order.
    requests: Vec<Option<usize>>,
    /// Open requests one of which each ACK so far answered, and those ACKs' ports.
    cluster: Vec<Option<usize>>,
    cluster_ports: Vec<u32>,
    /// How many of the cluster are still open.
    cluster_open: usize,
}

impl Open {
    fn request(&mut self, i: Option<usize>) {
        if self.cluster_open > 0 {
            self.cluster.push(i);
            self.cluster_open += 1;
        } else {
            self.requests.push(i);
        }
    }

    /// An ACK to `port`: the requests it names.
    fn ack(&mut self, port: u32, named: &mut Vec<(usize, u32)>) {
        if self.cluster_open > 0 {
            self.cluster_ports.push(port);
            self.cluster_open -= 1;
            if self.cluster_open == 0 {
                if self.cluster_ports.iter().all(|p| *p == port) {
                    named.extend(self.cluster.iter().flatten().map(|i| (*i, port)));
                }
                self.cluster.clear();
                self.cluster_ports.clear();
            }
            return;
        }
        match self.requests.len() {
            // answers a request the capture did not see (before it started, or lost)
            0 => {}
            1 => {
                named.extend(self.requests.drain(..).flatten().map(|i| (i, port)));
            }
            n => {
                self.cluster = std::mem::take(&mut self.requests);
                self.cluster_ports = vec![port];
                self.cluster_open = n - 1;
            }
        }
    }

    /// Still open at the block's end: (plainly open, in a cluster).
    fn left(&self) -> (&[Option<usize>], usize) {
        (&self.requests, self.cluster_open)
    }
}

/// A request's identity as its ACK quotes it: protocol and the whole header.
type HeaderKey = (u16, u32, u16, u16, u32, u32);

fn header_key(protocol: u16, h: &Header) -> HeaderKey {
    (protocol, h.len, h.msg_type, h.flags, h.seq, h.port)
}

impl Requests {
    /// (packet index, port) of the requests the block's answers name.
    fn answer(
        &mut self,
        packets: &[CapturedPacket<'_>],
        requests: &[(usize, Header)],
        to_user: &HashMap<(u16, u32), Vec<Answer>>,
        newest: Option<u64>,
    ) -> Vec<(usize, u32)> {
        if let Some(now) = newest {
            self.unanswered.retain(|u| {
                u.at.is_none_or(|at| at.saturating_add(REQUEST_KEPT_NS) >= now)
            });
        }
        // How many requests, earlier unanswered ones and this block's, have each sequence number.
        let mut seq_count: HashMap<(u16, u32), usize> = HashMap::new();
        for (protocol, seq) in self
            .unanswered
            .iter()
            .map(|u| (u.protocol, u.header.seq))
            .chain(requests.iter().map(|(i, r)| (packets[*i].protocol, r.seq)))
        {
            *seq_count.entry((protocol, seq)).or_insert(0) += 1;
        }
        // Requests and ACKs in capture order, per header.
        let mut events: Vec<(usize, u16, Header, Option<u32>)> = requests
            .iter()
            .map(|&(i, h)| (i, packets[i].protocol, h, None))
            .collect();
        for (&(protocol, _), answers) in to_user {
            for (i, port, quoted) in answers {
                if let Some(q) = quoted {
                    events.push((*i, protocol, *q, Some(*port)));
                }
            }
        }
        events.sort_by_key(|e| e.0);
        let mut open: HashMap<HeaderKey, (Unanswered, Open)> = HashMap::new();
        for u in &self.unanswered {
            let (last, o) = open
                .entry(header_key(u.protocol, &u.header))
                .or_insert_with(|| (*u, Open::default()));
            o.request(None);
            *last = *u;
        }
        let mut named = Vec::new();
        let mut acked: HashSet<usize> = HashSet::new();
        for (i, protocol, header, ack) in events {
            let (last, o) = open
                .entry(header_key(protocol, &header))
                .or_insert_with(|| {
                    let u = Unanswered {
                        protocol,
                        header,
                        at: packets[i].captured_ns,
                    };
                    (u, Open::default())
                });
            match ack {
                None => {
                    o.request(Some(i));
                    last.at = packets[i].captured_ns;
                }
                Some(port) => {
                    acked.extend(o.requests.iter().chain(&o.cluster).flatten());
                    o.ack(port, &mut named);
                }
            }
        }
        // Requests no ACK has touched: named by their replies, when their sequence number is
        // theirs alone.
        for &(i, request) in requests {
            let protocol = packets[i].protocol;
            if acked.contains(&i) || seq_count.get(&(protocol, request.seq)) != Some(&1) {
                continue;
            }
            let mut replies = to_user
                .get(&(protocol, request.seq))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|(j, _, quoted)| *j > i && quoted.is_none())
                .map(|(_, port, _)| *port);
            let Some(first) = replies.next() else {
                continue;
            };
            if replies.all(|p| p == first) {
                named.push((i, first));
            }
        }
        let mut left: Vec<Unanswered> = open
            .values()
            .flat_map(|(last, o)| {
                let (plain, clustered) = o.left();
                std::iter::repeat_n(*last, plain.len() + clustered)
            })
            .collect();
        // the oldest are forgotten first
        left.sort_by_key(|u| u.at);
        let excess = left.len().saturating_sub(REQUESTS_KEPT);
        self.unanswered = left.into_iter().skip(excess).collect();
        named
    }
}

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
            table: Mutex::new(Table {
                cmdline,
                ..Table::default()
            }),
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
            ports: netlink_table.map(|table| PortScan {
                table,
                owners: HashMap::new(),
                inode_owner: HashMap::new(),
                last: None,
            }),
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
            if tree.members.contains(&s.ppid) {
                tree.members.insert(process.pid);
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
    use super::*;

    #[test]
    fn status_fields_are_read_by_name() {
        let text = "Name:\tip\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t17\nNSpid:\t4242\t1\n";
        assert_eq!(parse_status(text), Some((4242, 17, 1)));
        let old = "Name:\tip\nTgid:\t5\nPPid:\t1\n";
        assert_eq!(parse_status(old), Some((5, 1, 5)));
        assert_eq!(parse_status("Name:\tip\n"), None);
    }

    #[test]
    fn the_netlink_table_is_read_by_column_name() {
        let text = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
                    0000000000000000 0   4242       00000000 0        0        0     2        0        31337\n\
                    0000000000000000 0   4294963199 00000000 0        0        0     2        0        7\n";
        assert_eq!(
            parse_netlink_table(text),
            vec![(0, 4242, 31337), (0, 4_294_963_199, 7)]
        );
    }

    fn status(tgid: u32, inner: u32, comm: &str) -> Status {
        Status {
            tgid,
            ppid: 1,
            inner,
            comm: Some(comm.into()),
        }
    }

    #[test]
    fn a_port_names_the_one_process_alive_then_with_that_number() {
        let mut t = Table::default();
        t.insert(100, &status(100, 100, "old"), 1_000_000_000, None);
        t.end(100, 2_000_000_000);
        t.insert(100, &status(100, 100, "new"), 3_000_000_000, None);
        let at = |t: &Table, ns| t.autobound(100, Some(ns)).and_then(|e| e.comm.clone());
        assert_eq!(at(&t, 1_500_000_000).as_deref(), Some("old"));
        assert_eq!(at(&t, 3_500_000_000).as_deref(), Some("new"));
        assert_eq!(at(&t, 2_500_000_000), None, "nobody held pid 100 then");
        // a process in its own pid namespace numbered 100 there: two candidates, nobody named
        t.insert(7000, &status(7000, 100, "contained"), 3_100_000_000, None);
        assert_eq!(at(&t, 3_500_000_000), None);
        assert_eq!(
            t.by_tgid(7000, Some(3_500_000_000)).map(|e| e.inner),
            Some(100)
        );
    }

    #[test]
    fn forgotten_exits_are_bounded() {
        let mut t = Table::default();
        for pid in 0..(GONE_KEPT as u32 + 10) {
            t.insert(pid + 2, &status(pid + 2, pid + 2, "x"), 1, None);
            t.end(pid + 2, 2);
        }
        assert_eq!(t.gone.len(), GONE_KEPT);
        assert!(t.by_inner.len() <= GONE_KEPT);
        assert!(
            t.autobound(2, Some(1)).is_none(),
            "the oldest exit is forgotten"
        );
    }

    #[test]
    fn the_tree_follows_forks_and_forgets_reused_pids() {
        let mut t = Table {
            tree: Some(Tree {
                root: 10,
                with_root: false,
                members: [10].into_iter().collect(),
            }),
            ..Table::default()
        };
        let fork = |parent, child| Event::Fork {
            parent,
            child,
            at: 5,
            status: Some(status(child, child, "sh")),
        };
        t.apply(fork(10, 11));
        t.apply(fork(11, 12));
        t.apply(fork(99, 13));
        let tree = t.tree.as_ref().map(|tr| {
            (
                tr.contains(10),
                tr.contains(11),
                tr.contains(12),
                tr.contains(13),
            )
        });
        assert_eq!(tree, Some((false, true, true, false)));
        t.apply(Event::Exit { tgid: 12, at: 6 });
        t.apply(fork(99, 12));
        assert_eq!(t.tree.as_ref().map(|tr| tr.contains(12)), Some(false));
    }

    /// An nlmsghdr with `payload` after it.
    fn message(msg_type: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&msg_type.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&port.to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

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

    /// Blocks of packets as `ProcEngine::attribute` splits them, through `Requests::answer`:
    /// which request packets it names, by which port.
    fn answer_blocks(blocks: &[Vec<Vec<u8>>]) -> Vec<Vec<(usize, u32)>> {
        let mut requests = Requests::default();
        blocks
            .iter()
            .enumerate()
            .map(|(b, block)| {
                let at = Some(b as u64 * 1_000_000);
                let views: Vec<CapturedPacket<'_>> = block
                    .iter()
                    .map(|data| {
                        let h = header(data).unwrap_or_else(|| panic!("header"));
                        CapturedPacket {
                            protocol: 0,
                            pkttype: if h.flags & 1 != 0 { 7 } else { 6 },
                            captured_ns: at,
                            data,
                        }
                    })
                    .collect();
                let mut asked = Vec::new();
                let mut to_user: HashMap<(u16, u32), Vec<Answer>> = HashMap::new();
                for (i, v) in views.iter().enumerate() {
                    let Some(h) = header(v.data) else { continue };
                    if v.pkttype == 7 {
                        asked.push((i, h));
                    } else {
                        let quoted = (h.msg_type == 2)
                            .then(|| v.data.get(20..36).and_then(header))
                            .flatten();
                        to_user
                            .entry((0, h.seq))
                            .or_default()
                            .push((i, h.port, quoted));
                    }
                }
                requests.answer(&views, &asked, &to_user, at)
            })
            .collect()
    }

    fn ack_of(request: &[u8], port: u32) -> Vec<u8> {
        let h = header(request).unwrap_or_else(|| panic!("header"));
        let mut error = 0i32.to_ne_bytes().to_vec();
        error.extend_from_slice(&request[..16]);
        message(2, 0x100, h.seq, port, &error)
    }

    #[test]
    fn a_request_is_named_by_its_ack_or_its_replies_alone() {
        let add = message(16, 0x605, 9, 0, &[1; 16]);
        let dump = message(18, 0x301, 10, 0, &[0; 16]);
        let reply = message(16, 0x2, 10, 77, &[0; 16]);
        let done = message(3, 0x2, 10, 77, &[0; 4]);
        assert_eq!(
            answer_blocks(&[vec![
                add.clone(),
                ack_of(&add, 42),
                dump,
                reply.clone(),
                done
            ]]),
            vec![vec![(0, 42), (2, 77)]]
        );
        // replies before the request are not its answers
        assert_eq!(
            answer_blocks(&[vec![reply, message(18, 0x301, 10, 0, &[0; 16])]]),
            vec![vec![]]
        );
    }

    #[test]
    fn identical_requests_are_named_only_when_every_one_has_its_ack_to_one_port() {
        let a = message(16, 0x605, 9, 0, &[1; 16]);
        let b = a.clone(); // same length, type, flags and sequence number: ip run twice in one second
                           // two processes, both ACKs here: nobody
        assert_eq!(
            answer_blocks(&[vec![a.clone(), b.clone(), ack_of(&a, 1), ack_of(&b, 2)]]),
            vec![vec![]]
        );
        // each ACK before the next request: each is the one open request's
        assert_eq!(
            answer_blocks(&[vec![a.clone(), ack_of(&a, 1), b.clone(), ack_of(&b, 2)]]),
            vec![vec![(0, 1), (2, 2)]]
        );
        // a cluster that closes on one port names all of it, on two none of it
        let c = a.clone();
        assert_eq!(
            answer_blocks(&[vec![
                a.clone(),
                b.clone(),
                ack_of(&a, 1),
                c.clone(),
                ack_of(&b, 1),
                ack_of(&c, 1),
                a.clone(),
                b.clone(),
                ack_of(&a, 1),
                ack_of(&b, 2),
            ]]),
            vec![vec![(0, 1), (1, 1), (3, 1)]]
        );
        // one process twice: both named
        assert_eq!(
            answer_blocks(&[vec![a.clone(), b.clone(), ack_of(&a, 1), ack_of(&b, 1)]]),
            vec![vec![(0, 1), (1, 1)]]
        );
        // the second ACK in the next block, where a third request like them has not its own yet:
        // the ACK there is the unanswered one's, not the new request's
        assert_eq!(
            answer_blocks(&[
                vec![a.clone(), b.clone(), ack_of(&a, 1)],
                vec![c.clone(), ack_of(&b, 2)],
                vec![ack_of(&c, 3)],
            ]),
            vec![vec![], vec![], vec![]]
        );
        // a request whose ACK comes a block later still counts when a request like it is answered
        assert_eq!(
            answer_blocks(&[vec![a.clone()], vec![c.clone(), ack_of(&c, 3)]]),
            vec![vec![], vec![]]
        );
        // once its ACK came, it no longer does
        assert_eq!(
            answer_blocks(&[
                vec![a.clone()],
                vec![ack_of(&a, 1)],
                vec![c.clone(), ack_of(&c, 3)]
            ]),
            vec![vec![], vec![], vec![(0, 3)]]
        );
    }

    #[test]
    fn replies_name_a_request_only_when_no_other_request_has_its_sequence_number() {
        let dump = message(18, 0x301, 10, 0, &[0; 16]);
        let other = message(22, 0x301, 10, 0, &[0; 16]);
        let reply = message(16, 0x2, 10, 77, &[0; 16]);
        assert_eq!(
            answer_blocks(&[vec![dump.clone(), other.clone(), reply.clone()]]),
            vec![vec![]]
        );
        // an unanswered one from the block before counts too
        assert_eq!(
            answer_blocks(&[vec![other], vec![dump, reply]]),
            vec![vec![], vec![]]
        );
    }
}
