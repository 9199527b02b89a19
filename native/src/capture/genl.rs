//! Generic netlink family ids → names, from a `CTRL_CMD_GETFAMILY` dump on a NETLINK_GENERIC
//! socket of the calling thread's network namespace.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::decode::GenlNames;
use crate::netlink::error::{Error, Result};

const OP: &str = "CTRL_CMD_GETFAMILY";

/// Dump every registered family. Runs before the capture starts, so it is not captured.
pub fn resolve() -> Result<GenlNames> {
    let mut socket =
        Socket::new(NETLINK_GENERIC).map_err(|e| Error::io(&e, "socket(NETLINK_GENERIC)"))?;
    socket.bind_auto().map_err(|e| Error::io(&e, "bind"))?;
    crate::netlink::socket::set_recv_timeout(&socket, 5)?;
    let seq: u32 = 1;
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![],
    });
    genl.finalize();
    let mut request = NetlinkMessage::from(genl);
    request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.sequence_number = seq;
    request.finalize();
    let mut bytes = vec![0u8; request.buffer_len()];
    request.serialize(&mut bytes);
    socket
        .send_to(&bytes, &SocketAddr::new(0, 0), 0)
        .map_err(|e| Error::io(&e, OP))?;

    let mut names = GenlNames::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        socket.recv(&mut buf, 0).map_err(|e| Error::io(&e, OP))?;
        if buf.is_empty() {
            return Ok(names);
        }
        let mut offset = 0usize;
        while offset < buf.len() {
            let message = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&buf[offset..]);
            // The length comes from the header itself: a family the crate cannot parse (a newer
            // attribute layout) is skipped, the others still get their names.
            let length = buf
                .get(offset..offset + 4)
                .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize);
            if length < 16 {
                return Err(Error::proto(OP, format!("message of length {length}")));
            }
            offset += (length + 3) & !3;
            let Ok(message) = message else { continue };
            if message.header.sequence_number != seq {
                continue;
            }
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(names),
                NetlinkPayload::Error(e) => match e.code {
                    Some(code) => return Err(Error::errno(code.get().saturating_neg(), OP)),
                    None => return Ok(names),
                },
                NetlinkPayload::InnerMessage(family) => {
                    let (mut id, mut name) = (None, None);
                    for nla in family.payload.nlas {
                        match nla {
                            GenlCtrlAttrs::FamilyId(v) => id = Some(v),
                            GenlCtrlAttrs::FamilyName(v) => name = Some(v),
                            _ => {}
                        }
                    }
                    if let (Some(id), Some(name)) = (id, name) {
                        names.insert(id, name);
                    }
                }
                _ => {}
            }
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

    /// Every family iproute2's `genl ctrl list` names (a tool nobody here wrote), with its id:
    /// none is lost to an entry the crate cannot parse.
    #[test]
    fn agrees_with_genl_ctrl_list() {
        let out = match std::process::Command::new("genl")
            .args(["ctrl", "list"])
            .output()
        {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            other => panic!("genl ctrl list (iproute2) is needed for this test: {other:?}"),
        };
        let mut theirs = Vec::new();
        let mut name = None;
        for line in out.lines() {
            if let Some(n) = line.strip_prefix("Name: ") {
                name = Some(n.trim().to_string());
            } else if let (Some(n), Some(rest)) = (name.take(), line.trim().strip_prefix("ID: 0x"))
            {
                let hex = rest.split_whitespace().next().unwrap_or("");
                theirs.push((u16::from_str_radix(hex, 16).unwrap_or(0), n));
            }
        }
        let names = match resolve() {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        };
        assert!(
            theirs.len() >= 2,
            "genl ctrl list printed {} families",
            theirs.len()
        );
        for (id, family) in &theirs {
            assert_eq!(
                names.get(*id),
                Some(family.as_str()),
                "family {family} (id {id})"
            );
        }
        assert_eq!(names.len(), theirs.len());
    }
}
