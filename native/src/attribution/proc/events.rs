//! The proc connector: the subscription, the thread that reads its events as they come, and
//! the writer's bounded wait for it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::procfs::{in_initial_pid_namespace, read_status, Status};
use super::table::Table;
use crate::attribution::clock::monotonic_ns;
use crate::capture::connector;
use crate::capture::decode::split;

/// How long the writer waits for the event reader to have read up to a packet's time.
const CATCH_UP_BOUND: Duration = Duration::from_millis(200);
/// How long start() waits for the connector to confirm the subscription.
const LISTEN_BOUND: Duration = Duration::from_secs(1);

/// A proc connector event, with what /proc said of the process when it was read.
pub(super) enum Event {
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
                cmdline: cmdline.then(|| crate::attribution::cmdline(tgid)).flatten(),
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

pub(super) struct Shared {
    pub(super) table: Mutex<Table>,
    pub(super) read_up_to: Condvar,
}

pub(super) fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The proc connector subscription and the thread that reads it.
pub(super) struct Tracker {
    wake: OwnedFd,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Tracker {
    /// Subscribe and start reading; Err says, in a few words, why there are no events.
    pub(super) fn start(
        shared: &Arc<Shared>,
        cmdline: bool,
    ) -> std::result::Result<Tracker, String> {
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
pub(super) fn catch_up<'a>(
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
