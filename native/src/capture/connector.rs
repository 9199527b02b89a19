//! NETLINK_CONNECTOR payloads (include/uapi/linux/connector.h, cn_proc.h): the kernel sends
//! each as an NLMSG_DONE carrying a `struct cn_msg` (`cn_netlink_send_mult()`), not an errno.
//!
//! The index/value and event numbers come from libc; the two struct layouts libc lacks
//! (`struct cn_msg`, `struct proc_event`) are read here, field by field, bounds-checked.

use serde::Serialize;

use crate::netlink::extack::{read_u16, read_u32};

/// `sizeof(struct cn_msg)`: cb_id {idx, val}, seq, ack, len (u16), flags (u16).
pub const CN_MSG_LEN: usize = 20;
/// `struct proc_event` up to its `event_data` union: what, cpu, timestamp_ns.
const PROC_EVENT_HEAD: usize = 16;

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct CnMsg {
    pub idx: u32,
    pub val: u32,
    pub seq: u32,
    pub ack: u32,
    pub len: u16,
    pub flags: u16,
    /// `proc` for CN_IDX_PROC/CN_VAL_PROC; others are not decoded further.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// A listener's subscription (PROC_CN_MCAST_LISTEN / _IGNORE), from user space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_op: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proc_event: Option<ProcEvent>,
}

/// `struct proc_event`: the event and the pids (and ids) its union member carries.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct ProcEvent {
    /// `fork`, `exec`, `uid`, … (`0x…` for an event this decoder does not know).
    pub what: String,
    pub what_raw: u32,
    pub cpu: u32,
    pub timestamp_ns: u64,
    /// The union member's fields in the kernel's order and names (`process_pid`, `child_tgid`…),
    /// as a JSON object.
    #[serde(serialize_with = "in_order")]
    pub fields: Vec<(&'static str, i64)>,
    /// PROC_EVENT_COMM's new command name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
}

impl ProcEvent {
    /// A field of the event's union by the kernel's name (`child_tgid`, `process_pid`…).
    pub fn field(&self, name: &str) -> Option<i64> {
        self.fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

/// The message that subscribes a NETLINK_CONNECTOR socket to the proc events
/// (PROC_CN_MCAST_LISTEN): NLMSG_DONE + cn_msg {CN_IDX_PROC, CN_VAL_PROC} + the u32 op.
pub fn proc_listen_request(port: u32) -> Vec<u8> {
    let op = libc::PROC_CN_MCAST_LISTEN;
    let mut m = Vec::with_capacity(16 + CN_MSG_LEN + 4);
    m.extend_from_slice(&((16 + CN_MSG_LEN + 4) as u32).to_ne_bytes());
    m.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(&libc::CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&libc::CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&op.to_ne_bytes());
    m
}

fn in_order<S: serde::Serializer>(fields: &[(&'static str, i64)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(fields.iter().map(|(k, v)| (*k, *v)))
}

fn i32_at(b: &[u8], at: usize) -> Option<i64> {
    read_u32(b, at).map(|v| i64::from(v as i32))
}

fn u32_at(b: &[u8], at: usize) -> Option<i64> {
    read_u32(b, at).map(i64::from)
}

/// The name and union layout of a proc event (`what`): (field name, signed).
fn event_layout(what: u32) -> Option<(&'static str, &'static [(&'static str, bool)])> {
    const PID: (&str, bool) = ("process_pid", true);
    const TGID: (&str, bool) = ("process_tgid", true);
    let layout: (&str, &[(&str, bool)]) = match what {
        x if x == libc::PROC_EVENT_NONE => ("none", &[("err", false)]),
        x if x == libc::PROC_EVENT_FORK => (
            "fork",
            &[
                ("parent_pid", true),
                ("parent_tgid", true),
                ("child_pid", true),
                ("child_tgid", true),
            ],
        ),
        x if x == libc::PROC_EVENT_EXEC => ("exec", &[PID, TGID]),
        x if x == libc::PROC_EVENT_UID => ("uid", &[PID, TGID, ("ruid", false), ("euid", false)]),
        x if x == libc::PROC_EVENT_GID => ("gid", &[PID, TGID, ("rgid", false), ("egid", false)]),
        x if x == libc::PROC_EVENT_SID => ("sid", &[PID, TGID]),
        x if x == libc::PROC_EVENT_PTRACE => (
            "ptrace",
            &[PID, TGID, ("tracer_pid", true), ("tracer_tgid", true)],
        ),
        x if x == libc::PROC_EVENT_COMM => ("comm", &[PID, TGID]),
        x if x == libc::PROC_EVENT_COREDUMP => (
            "coredump",
            &[PID, TGID, ("parent_pid", true), ("parent_tgid", true)],
        ),
        x if x == libc::PROC_EVENT_EXIT || x == libc::PROC_EVENT_NONZERO_EXIT => (
            if x == libc::PROC_EVENT_EXIT {
                "exit"
            } else {
                "nonzero_exit"
            },
            &[
                PID,
                TGID,
                ("exit_code", false),
                ("exit_signal", false),
                ("parent_pid", true),
                ("parent_tgid", true),
            ],
        ),
        _ => return None,
    };
    Some(layout)
}

fn proc_event(data: &[u8]) -> Option<ProcEvent> {
    let what = read_u32(data, 0)?;
    let cpu = read_u32(data, 4)?;
    let lo = u64::from(read_u32(data, 8)?);
    let hi = u64::from(read_u32(data, 12)?);
    // aligned_u64 in host order.
    let timestamp_ns = if cfg!(target_endian = "little") {
        lo | (hi << 32)
    } else {
        (lo << 32) | hi
    };
    let union = data.get(PROC_EVENT_HEAD..).unwrap_or(&[]);
    let mut event = ProcEvent {
        what: format!("{what:#x}"),
        what_raw: what,
        cpu,
        timestamp_ns,
        ..ProcEvent::default()
    };
    if let Some((name, layout)) = event_layout(what) {
        event.what = name.to_string();
        for (i, (field, signed)) in layout.iter().enumerate() {
            let value = if *signed {
                i32_at(union, i * 4)
            } else {
                u32_at(union, i * 4)
            };
            if let Some(v) = value {
                event.fields.push((field, v));
            }
        }
        if what == libc::PROC_EVENT_COMM {
            let comm = union.get(8..24).unwrap_or(&[]);
            let text = comm.split(|b| *b == 0).next().unwrap_or(&[]);
            event.comm = Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    Some(event)
}

/// Decode the `struct cn_msg` (and what it carries) of a connector NLMSG_DONE payload; Err says
/// what is missing.
pub fn decode(payload: &[u8]) -> Result<CnMsg, String> {
    if payload.len() < CN_MSG_LEN {
        return Err(format!(
            "connector payload of {} bytes is shorter than struct cn_msg ({CN_MSG_LEN})",
            payload.len()
        ));
    }
    let field = |at| read_u32(payload, at).unwrap_or(0);
    let mut msg = CnMsg {
        idx: field(0),
        val: field(4),
        seq: field(8),
        ack: field(12),
        len: read_u16(payload, 16).unwrap_or(0),
        flags: read_u16(payload, 18).unwrap_or(0),
        ..CnMsg::default()
    };
    let data = &payload[CN_MSG_LEN..];
    let data = &data[..data.len().min(usize::from(msg.len))];
    if msg.idx == libc::CN_IDX_PROC && msg.val == libc::CN_VAL_PROC {
        msg.name = Some("proc");
        if data.len() == 4 {
            let op = read_u32(data, 0).unwrap_or(0);
            msg.mcast_op = Some(match op {
                x if x == libc::PROC_CN_MCAST_LISTEN => "listen".into(),
                x if x == libc::PROC_CN_MCAST_IGNORE => "ignore".into(),
                other => format!("{other:#x}"),
            });
        } else {
            msg.proc_event = proc_event(data);
        }
    }
    Ok(msg)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A proc connector message as the kernel sends it (cn_proc.c): NLMSG_DONE + cn_msg +
    /// proc_event with `union` = the given u32 words.
    pub fn proc_message(what: u32, words: &[u32], seq: u32) -> Vec<u8> {
        let mut event = Vec::new();
        event.extend_from_slice(&what.to_ne_bytes());
        event.extend_from_slice(&1u32.to_ne_bytes()); // cpu
        event.extend_from_slice(&123_456_789_000u64.to_ne_bytes());
        for w in words {
            event.extend_from_slice(&w.to_ne_bytes());
        }
        // the kernel sends the whole union (40 bytes on 6.x)
        event.resize(PROC_EVENT_HEAD + 40, 0);
        let mut cn = Vec::new();
        cn.extend_from_slice(&libc::CN_IDX_PROC.to_ne_bytes());
        cn.extend_from_slice(&libc::CN_VAL_PROC.to_ne_bytes());
        cn.extend_from_slice(&seq.to_ne_bytes());
        cn.extend_from_slice(&0u32.to_ne_bytes());
        cn.extend_from_slice(&(event.len() as u16).to_ne_bytes());
        cn.extend_from_slice(&0u16.to_ne_bytes());
        cn.extend_from_slice(&event);
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + cn.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&3u16.to_ne_bytes()); // NLMSG_DONE
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&cn);
        m
    }

    #[test]
    fn the_listen_request_decodes_as_one() {
        let m = proc_listen_request(77);
        let h = crate::capture::decode::header(&m).map(|h| (h.len as usize, h.msg_type, h.port));
        assert_eq!(h, Some((m.len(), 3, 77)));
        let cn = decode(&m[16..]).map(|cn| (cn.name, cn.mcast_op));
        assert_eq!(cn, Ok((Some("proc"), Some("listen".to_string()))));
    }

    /// The kernel's numbers (connector.h, cn_proc.h) as libc gives them.
    #[test]
    fn constants_match_the_kernel_headers() {
        assert_eq!((libc::CN_IDX_PROC, libc::CN_VAL_PROC), (1, 1));
        assert_eq!(
            (
                libc::PROC_EVENT_FORK,
                libc::PROC_EVENT_EXEC,
                libc::PROC_EVENT_EXIT
            ),
            (1, 2, 0x8000_0000)
        );
    }

    #[test]
    fn fork_exec_exit_uid_comm() {
        let fork = proc_message(libc::PROC_EVENT_FORK, &[100, 100, 200, 200], 7);
        let Ok(m) = decode(&fork[16..]) else {
            panic!("fork")
        };
        assert_eq!((m.idx, m.val, m.seq, m.name), (1, 1, 7, Some("proc")));
        assert_eq!(usize::from(m.len), 56);
        let e = m.proc_event.unwrap_or_default();
        assert_eq!(
            (e.what.as_str(), e.cpu, e.timestamp_ns),
            ("fork", 1, 123_456_789_000)
        );
        assert_eq!(
            e.fields,
            vec![
                ("parent_pid", 100),
                ("parent_tgid", 100),
                ("child_pid", 200),
                ("child_tgid", 200)
            ]
        );
        let exit = proc_message(libc::PROC_EVENT_EXIT, &[200, 200, 256, 17, 100, 100], 8);
        let e = decode(&exit[16..])
            .ok()
            .and_then(|m| m.proc_event)
            .unwrap_or_default();
        assert_eq!(e.what, "exit");
        assert_eq!(e.fields[2], ("exit_code", 256));
        assert_eq!(e.fields[3], ("exit_signal", 17));
        let uid = proc_message(libc::PROC_EVENT_UID, &[5, 5, 0, 1000], 9);
        let e = decode(&uid[16..])
            .ok()
            .and_then(|m| m.proc_event)
            .unwrap_or_default();
        assert_eq!(e.fields[3], ("euid", 1000));
        let name = u32::from_ne_bytes(*b"bash");
        let comm = proc_message(libc::PROC_EVENT_COMM, &[5, 5, name, 0], 10);
        let e = decode(&comm[16..])
            .ok()
            .and_then(|m| m.proc_event)
            .unwrap_or_default();
        assert_eq!(e.comm.as_deref(), Some("bash"));
        let odd = proc_message(0x1234, &[], 11);
        let e = decode(&odd[16..])
            .ok()
            .and_then(|m| m.proc_event)
            .unwrap_or_default();
        assert_eq!((e.what.as_str(), e.fields.len()), ("0x1234", 0));
    }

    #[test]
    fn listen_request_and_short_payloads() {
        let mut req = proc_message(0, &[], 1);
        // a listener's request: cn_msg + u32 op
        req.truncate(16 + CN_MSG_LEN);
        req.extend_from_slice(&libc::PROC_CN_MCAST_LISTEN.to_ne_bytes());
        req[16 + 16..16 + 18].copy_from_slice(&4u16.to_ne_bytes());
        let m = decode(&req[16..]).unwrap_or_default();
        assert_eq!(m.mcast_op.as_deref(), Some("listen"));
        assert!(m.proc_event.is_none());
        for cut in 0..CN_MSG_LEN {
            assert!(decode(&req[16..16 + cut]).is_err());
        }
        let fork = proc_message(libc::PROC_EVENT_FORK, &[1, 2, 3, 4], 1);
        for cut in CN_MSG_LEN..fork.len() - 16 {
            let _ = decode(&fork[16..16 + cut]);
        }
    }
}
