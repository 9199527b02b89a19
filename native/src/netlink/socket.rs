//! A blocking rtnetlink socket: one request at a time, replies matched by sequence number.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use netlink_packet_core::{
    DoneBuffer, DoneMessage, ErrorBuffer, ErrorMessage, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload, Parseable, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::consts::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN};
use super::error::{Error, Result};
use super::extack;

/// Receive buffer requested from the kernel (SO_RCVBUF; capped by net.core.rmem_max).
const RCVBUF: libc::c_int = 1 << 20;
/// A reply that never comes is a kernel bug, not a reason to hang a libuv worker forever.
const RECV_TIMEOUT_SECS: libc::time_t = 30;
/// Whole-dump retries when the kernel flags NLM_F_DUMP_INTR.
pub const DUMP_ATTEMPTS: usize = 5;

static NEXT_SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh sequence number, never 0, distinct within this process.
fn next_seq() -> u32 {
    // Seed once from the clock so that two processes do not walk the same numbers.
    if NEXT_SEQ.load(Ordering::Relaxed) == 0 {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() | 1);
        let _ = NEXT_SEQ.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    loop {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        if seq != 0 {
            return seq;
        }
    }
}

/// One non-control message of a reply: its header and payload bytes.
#[derive(Debug)]
pub struct Reply {
    pub header: NetlinkHeader,
    pub payload: Vec<u8>,
}

pub struct NlSocket {
    socket: Socket,
    kernel: SocketAddr,
    buf: Vec<u8>,
}

/// SO_RCVTIMEO on a netlink socket, so a kernel that never answers cannot hang a call forever.
pub(crate) fn set_recv_timeout(socket: &Socket, seconds: libc::time_t) -> Result<()> {
    let timeout = libc::timeval {
        tv_sec: seconds,
        tv_usec: 0,
    };
    // SAFETY: valid fd, pointer and length of a timeval for SO_RCVTIMEO.
    let rc = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(socket),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Error::io(
            &std::io::Error::last_os_error(),
            "setsockopt(SO_RCVTIMEO)",
        ));
    }
    Ok(())
}

impl NlSocket {
    /// Open a NETLINK_ROUTE socket in the calling thread's network namespace, with extended ACK
    /// and strict checking on.
    pub fn open() -> Result<Self> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| Error::io(&e, "socket(NETLINK_ROUTE)"))?;
        socket.bind_auto().map_err(|e| Error::io(&e, "bind"))?;
        socket
            .set_ext_ack(true)
            .map_err(|e| Error::io(&e, "setsockopt(NETLINK_EXT_ACK)"))?;
        socket
            .set_netlink_get_strict_chk(true)
            .map_err(|e| Error::io(&e, "setsockopt(NETLINK_GET_STRICT_CHK)"))?;
        // Best effort: a bigger buffer only matters for very large dumps.
        let _ = socket.set_rx_buf_sz(RCVBUF);
        set_recv_timeout(&socket, RECV_TIMEOUT_SECS)?;
        Ok(NlSocket {
            socket,
            kernel: SocketAddr::new(0, 0),
            buf: Vec::with_capacity(32 * 1024),
        })
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16, op: &'static str) -> Result<u32> {
        let seq = next_seq();
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        let sent = self
            .socket
            .send_to(&bytes, &self.kernel, 0)
            .map_err(|e| Error::io(&e, op))?;
        if sent != bytes.len() {
            return Err(Error::proto(
                op,
                format!("short send: {sent} of {} bytes", bytes.len()),
            ));
        }
        Ok(seq)
    }

    /// Receive one datagram (whatever its size) into `self.buf`.
    fn recv_datagram(&mut self, op: &'static str) -> Result<()> {
        loop {
            // Learn the size first, so that no datagram is ever truncated; into an empty buffer,
            // as iproute2 does, so the peek copies nothing (a dump is megabytes).
            let mut empty: [u8; 0] = [];
            let size = match self
                .socket
                .recv(&mut &mut empty[..], libc::MSG_PEEK | libc::MSG_TRUNC)
            {
                Ok(size) => size,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(Error::io(&e, op)),
            };
            self.buf.clear();
            self.buf.reserve(size.max(NLMSG_HDRLEN));
            match self.socket.recv(&mut self.buf, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(Error::io(&e, op)),
            }
        }
    }

    /// Split `self.buf` into messages and hand those carrying `seq` to `on_message`.
    /// Returns true once `on_message` reports the end of the exchange.
    fn each_message<F>(&self, seq: u32, op: &'static str, mut on_message: F) -> Result<bool>
    where
        F: FnMut(NetlinkHeader, &[u8]) -> Result<bool>,
    {
        let mut offset = 0usize;
        while offset < self.buf.len() {
            let rest = &self.buf[offset..];
            let buffer = NetlinkBuffer::new_checked(rest)
                .map_err(|e| Error::proto(op, format!("bad netlink header: {e}")))?;
            let length = buffer.length() as usize;
            let header = NetlinkHeader::parse(&buffer)
                .map_err(|e| Error::proto(op, format!("bad netlink header: {e}")))?;
            let payload = rest.get(NLMSG_HDRLEN..length).unwrap_or(&[]);
            // Messages for another request (none should come: the socket is ours alone).
            if header.sequence_number == seq && on_message(header, payload)? {
                return Ok(true);
            }
            offset += (length + 3) & !3;
        }
        Ok(false)
    }

    /// A request that is answered by zero or more messages and then an NLMSG_ERROR
    /// (code 0 = ACK). `flags` are added to NLM_F_REQUEST | NLM_F_ACK.
    pub fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        op: &'static str,
    ) -> Result<Vec<Reply>> {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags, op)?;
        let mut replies = Vec::new();
        loop {
            self.recv_datagram(op)?;
            let done = self.each_message(seq, op, |header, payload| match header.message_type {
                NLMSG_ERROR => {
                    let (code, ack) = parse_error(&header, payload, op)?;
                    if code == 0 {
                        Ok(true)
                    } else {
                        Err(kernel_error(code, ack, op))
                    }
                }
                NLMSG_DONE => Ok(true),
                NLMSG_NOOP => Ok(false),
                NLMSG_OVERRUN => Err(Error::proto(op, "NLMSG_OVERRUN")),
                _ => {
                    replies.push(Reply {
                        header,
                        payload: payload.to_vec(),
                    });
                    Ok(false)
                }
            })?;
            if done {
                return Ok(replies);
            }
        }
    }

    /// One dump: each reply message goes to `each` as it arrives. Returns whether the kernel
    /// flagged it as interrupted (NLM_F_DUMP_INTR).
    fn dump_once<E>(
        &mut self,
        message: RouteNetlinkMessage,
        op: &'static str,
        each: &mut E,
    ) -> Result<bool>
    where
        E: FnMut(&NetlinkHeader, &[u8]) -> Result<()>,
    {
        let seq = self.send(message, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, op)?;
        let mut interrupted = false;
        loop {
            self.recv_datagram(op)?;
            let done = self.each_message(seq, op, |header, payload| {
                if header.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match header.message_type {
                    NLMSG_DONE => {
                        // The kernel allows an empty NLMSG_DONE.
                        let padded;
                        let bytes = if payload.len() < 4 {
                            padded = [0u8; 4];
                            &padded[..]
                        } else {
                            payload
                        };
                        let done = DoneBuffer::new_checked(&bytes)
                            .and_then(|b| DoneMessage::parse(&b))
                            .map_err(|e| Error::proto(op, format!("bad NLMSG_DONE: {e}")))?;
                        if done.code < 0 {
                            let ack = extack::parse_done(header.flags, &done.extended_ack);
                            return Err(kernel_error(done.code, ack, op));
                        }
                        Ok(true)
                    }
                    NLMSG_ERROR => {
                        let (code, ack) = parse_error(&header, payload, op)?;
                        if code == 0 {
                            // Not sent for a started dump; tolerate it and wait for DONE.
                            Ok(false)
                        } else {
                            Err(kernel_error(code, ack, op))
                        }
                    }
                    NLMSG_NOOP => Ok(false),
                    NLMSG_OVERRUN => Err(Error::proto(op, "NLMSG_OVERRUN")),
                    _ => {
                        each(&header, payload)?;
                        Ok(false)
                    }
                }
            })?;
            if done {
                return Ok(interrupted);
            }
        }
    }

    /// A dump request, its messages handed to `each` as they arrive (nothing is kept here).
    /// When the kernel flags the dump as interrupted (NLM_F_DUMP_INTR: the set changed while
    /// it was read), `restart` runs and the whole dump is repeated.
    pub fn dump_each<F, R, E>(
        &mut self,
        make_request: F,
        op: &'static str,
        mut restart: R,
        mut each: E,
    ) -> Result<()>
    where
        F: Fn() -> RouteNetlinkMessage,
        R: FnMut(),
        E: FnMut(&NetlinkHeader, &[u8]) -> Result<()>,
    {
        for _ in 0..DUMP_ATTEMPTS {
            if !self.dump_once(make_request(), op, &mut each)? {
                return Ok(());
            }
            restart();
        }
        Err(Error::Errno {
            errno: libc::EINTR,
            op,
            extack: Some(format!(
                "dump interrupted {DUMP_ATTEMPTS} times (NLM_F_DUMP_INTR)"
            )),
            extack_offset: None,
        })
    }

    /// A dump request: every message until NLMSG_DONE (see dump_each).
    pub fn dump<F>(&mut self, make_request: F, op: &'static str) -> Result<Vec<Reply>>
    where
        F: Fn() -> RouteNetlinkMessage,
    {
        // Both callbacks touch the list: an interrupted dump's partial list is thrown away.
        let replies = std::cell::RefCell::new(Vec::new());
        self.dump_each(
            make_request,
            op,
            || replies.borrow_mut().clear(),
            |header, payload| {
                replies.borrow_mut().push(Reply {
                    header: *header,
                    payload: payload.to_vec(),
                });
                Ok(())
            },
        )?;
        Ok(replies.into_inner())
    }
}

fn parse_error(
    header: &NetlinkHeader,
    payload: &[u8],
    op: &'static str,
) -> Result<(i32, extack::ExtAck)> {
    let message = ErrorBuffer::new_checked(&payload)
        .and_then(|b| ErrorMessage::parse(&b))
        .map_err(|e| Error::proto(op, format!("bad NLMSG_ERROR: {e}")))?;
    let code = message.raw_code();
    let ack = if code == 0 {
        extack::ExtAck::default()
    } else {
        extack::parse_error(header.flags, &message.header)
    };
    Ok((code, ack))
}

fn kernel_error(code: i32, ack: extack::ExtAck, op: &'static str) -> Error {
    Error::Errno {
        errno: code.saturating_neg(),
        op,
        extack: ack.msg,
        extack_offset: ack.offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    #[test]
    fn sequence_numbers_are_distinct_and_nonzero() {
        let a = next_seq();
        let b = next_seq();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }

    /// Read-only against this process's namespace: a dump and a get of `lo`.
    #[test]
    fn dump_and_get_loopback() {
        let mut sock = match NlSocket::open() {
            Ok(sock) => sock,
            Err(e) => panic!("open: {e}"),
        };
        let replies = match sock.dump(
            || RouteNetlinkMessage::GetLink(LinkMessage::default()),
            "RTM_GETLINK",
        ) {
            Ok(r) => r,
            Err(e) => panic!("dump: {e}"),
        };
        assert!(!replies.is_empty());
        let lo = replies.iter().any(|r| {
            LinkMessage::parse(&r.payload[..]).is_ok_and(|m| {
                m.header.index == 1 && m.attributes.contains(&LinkAttribute::IfName("lo".into()))
            })
        });
        assert!(lo, "lo (ifindex 1) missing from the dump");

        let mut by_index = LinkMessage::default();
        by_index.header.index = 1;
        let replies = sock.request(RouteNetlinkMessage::GetLink(by_index), 0, "RTM_GETLINK");
        assert!(matches!(replies, Ok(ref r) if r.len() == 1), "{replies:?}");

        // A link that does not exist: ENODEV from the kernel.
        let mut missing = LinkMessage::default();
        missing
            .attributes
            .push(LinkAttribute::IfName("nlmonctl-none".into()));
        let err = sock
            .request(RouteNetlinkMessage::GetLink(missing), 0, "RTM_GETLINK")
            .err();
        assert!(
            matches!(
                err,
                Some(Error::Errno {
                    errno: libc::ENODEV,
                    ..
                })
            ),
            "{err:?}"
        );

        // Strict checking is on: a dump filtered by ifindex is refused, with extack text.
        let mut filtered = LinkMessage::default();
        filtered.header.index = 1;
        let err = sock
            .dump(
                || RouteNetlinkMessage::GetLink(filtered.clone()),
                "RTM_GETLINK",
            )
            .err();
        match err {
            Some(Error::Errno {
                errno: libc::EINVAL,
                extack: Some(text),
                ..
            }) => {
                assert!(text.contains("index"), "{text}")
            }
            other => panic!("expected EINVAL with extack, got {other:?}"),
        }
    }
}
