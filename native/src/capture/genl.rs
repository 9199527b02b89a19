//! Generic netlink family ids → names, from a `CTRL_CMD_GETFAMILY` dump on a NETLINK_GENERIC
//! socket of the calling thread's network namespace.

use netlink_sys::{Socket, SocketAddr};

use super::decode::{ctrl_family, header, split, GenlNames, NLMSG_HDRLEN};
use super::names::{GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR};
use crate::error::{Error, Result};

const NETLINK_GENERIC: isize = 16;
const CTRL_CMD_GETFAMILY: u8 = 3;

/// Dump every registered family. Runs before the capture starts, so it is not captured.
pub fn resolve() -> Result<GenlNames> {
    let mut socket =
        Socket::new(NETLINK_GENERIC).map_err(|e| Error::io(&e, "socket(NETLINK_GENERIC)"))?;
    socket.bind_auto().map_err(|e| Error::io(&e, "bind"))?;
    crate::socket::set_recv_timeout(&socket, 5)?;
    let seq: u32 = 1;
    let mut request = Vec::with_capacity(NLMSG_HDRLEN + 4);
    request.extend_from_slice(&((NLMSG_HDRLEN + 4) as u32).to_ne_bytes());
    request.extend_from_slice(&GENL_ID_CTRL.to_ne_bytes());
    request.extend_from_slice(&0x301u16.to_ne_bytes()); // REQUEST | DUMP
    request.extend_from_slice(&seq.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request.extend_from_slice(&[CTRL_CMD_GETFAMILY, 1, 0, 0]);
    socket
        .send_to(&request, &SocketAddr::new(0, 0), 0)
        .map_err(|e| Error::io(&e, "CTRL_CMD_GETFAMILY"))?;
    let mut names = GenlNames::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        socket
            .recv(&mut buf, 0)
            .map_err(|e| Error::io(&e, "CTRL_CMD_GETFAMILY"))?;
        let mut done = false;
        let mut failed = None;
        let framing = split(&buf, |h, msg| {
            if h.seq != seq {
                return;
            }
            match h.msg_type {
                NLMSG_DONE => done = true,
                NLMSG_ERROR => {
                    let code = msg
                        .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code != 0 {
                        failed = Some(code.saturating_neg());
                    }
                    done = true;
                }
                GENL_ID_CTRL => {
                    if let (Some(id), Some(name)) =
                        ctrl_family(msg.get(NLMSG_HDRLEN + 4..).unwrap_or(&[]))
                    {
                        names.insert(id, name);
                    }
                }
                _ => {}
            }
        });
        if let Err((_, why)) = framing {
            return Err(Error::proto("CTRL_CMD_GETFAMILY", why));
        }
        if let Some(errno) = failed {
            return Err(Error::errno(errno, "CTRL_CMD_GETFAMILY"));
        }
        if done || header(&buf).is_none() {
            return Ok(names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's own kernel: nlctrl is always there, id 16.
    #[test]
    fn resolves_nlctrl() {
        let names = match resolve() {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(names.get(16), Some("nlctrl"));
        assert!(names.len() >= 2, "only {} families", names.len());
    }
}
