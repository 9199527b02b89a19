//! Loading `bpf/netlink_send.bpf.c` (compiled by build.rs, embedded here) with aya, and reading
//! its ring buffer without blocking.
//!
//! aya rather than libbpf-rs: it is Rust all the way down (it reads the clang-compiled object,
//! applies the CO-RE relocations against /sys/kernel/btf/vmlinux itself and makes the bpf(2)
//! calls), so the addon links no C library (libbpf-sys would need libelf and zlib at build and
//! link time). aya 0.14 is the newest release this crate's Rust (1.88+) builds.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aya::maps::{Array, MapData, RingBuf};
use aya::programs::{FEntry, RawTracePoint};
use aya::{Btf, Ebpf, EbpfLoader};

use super::matcher::{SendEvent, SendKind};
use crate::netlink::error::{Error, Result};

/// The object clang built from `bpf/netlink_send.bpf.c` (aya wants it 8-byte aligned).
static PROGRAM: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/netlink_send.bpf.o"));

/// Where the kernel's own BTF is; without it there is no CO-RE.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The inode number of the initial pid namespace (the kernel's PROC_PID_INIT_INO).
const INIT_PIDNS: u32 = 0xEFFF_FFFC;

/// This process's pid namespace, as the program's PIDNS_INUM: 0 for the initial one (the
/// kernel's own pids serve), else its inode, so that pids are this namespace's.
fn own_pid_namespace() -> Result<u32> {
    let inum = std::fs::metadata("/proc/self/ns/pid")
        .map_err(|e| Error::io(&e, "BPF load"))?
        .ino() as u32;
    Ok(if inum == INIT_PIDNS { 0 } else { inum })
}

/// The C program's `PREFIX_LEN`.
pub const PREFIX_LEN: usize = 256;

/// `struct send_event` of the C program, byte for byte.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEvent {
    ktime: u64,
    netns: u32,
    tgid: u32,
    tid: u32,
    portid: u32,
    dst: u32,
    protocol: u16,
    kind: u8,
    _pad: u8,
    index: u32,
    copied: u32,
    nlmsg_len: u32,
    nlmsg_type: u16,
    nlmsg_flags: u16,
    nlmsg_seq: u32,
    nlmsg_pid: u32,
    comm: [u8; 16],
    data: [u8; PREFIX_LEN],
}

/// The C program's `enum stat` (indexes of the STATS array).
const STAT_LOST: u32 = 0;
const STAT_TRUNCATED: u32 = 1;

/// Where the program is attached (the C file's header says why these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// fentry on netlink_unicast and netlink_broadcast: every send, recorded before nlmon's tap
    /// sees it.
    Fentry,
    /// The raw tracepoint consume_skb, where fentry is not built into the kernel: kernel-bound
    /// messages only, recorded after the kernel processed them (after the tap).
    ConsumeSkb,
}

/// The loaded, attached program; detached when dropped (aya closes the links).
pub struct Loader {
    // Owns the programs and their links: dropping it detaches them.
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    stats: Array<MapData, u64>,
    hook: Hook,
}

fn attach_fentry(ebpf: &mut Ebpf, btf: &Btf, name: &str, function: &str) -> Result<()> {
    let program: &mut FEntry = ebpf
        .program_mut(name)
        .ok_or_else(|| Error::proto("BPF load", format!("no program {name} in the object")))?
        .try_into()
        .map_err(|e| failed("BPF load", &e))?;
    program
        .load(function, btf)
        .map_err(|e| failed("BPF load", &e))?;
    program.attach().map_err(|e| failed("BPF attach", &e))?;
    Ok(())
}

fn attach_consume_skb(ebpf: &mut Ebpf) -> Result<()> {
    let program: &mut RawTracePoint = ebpf
        .program_mut("consume_skb_entry")
        .ok_or_else(|| Error::proto("BPF load", "no program consume_skb_entry in the object"))?
        .try_into()
        .map_err(|e| failed("BPF load", &e))?;
    program.load().map_err(|e| failed("BPF load", &e))?;
    program
        .attach("consume_skb")
        .map_err(|e| failed("BPF attach", &e))?;
    Ok(())
}

/// An aya failure as the crate's error: the errno the kernel gave when there is one (EPERM
/// without privilege, EINVAL from the verifier, …), and aya's whole description as the detail.
fn failed(op: &'static str, err: &dyn std::error::Error) -> Error {
    let mut errno = None;
    let mut detail = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            errno = errno.or(io.raw_os_error());
        }
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Errno {
        errno: errno.unwrap_or(libc::EINVAL),
        op,
        extack: Some(detail),
        extack_offset: None,
    }
}

impl Loader {
    /// Load and attach the program, recording the sends of the network namespace with inode
    /// `netns` (0: of every namespace). Needs BTF and CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN).
    pub fn start(netns: u32) -> Result<Self> {
        Self::start_with(netns, None)
    }

    /// `start`, with the hook chosen (`None`: fentry where the kernel has it, else the
    /// tracepoint). Choosing lets a test prove the fallback on a kernel that has fentry.
    pub fn start_with(netns: u32, only: Option<Hook>) -> Result<Self> {
        if !Path::new(KERNEL_BTF).exists() {
            return Err(Error::Errno {
                errno: libc::ENOENT,
                op: "BPF load",
                extack: Some(format!(
                    "{KERNEL_BTF} is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF), which the eBPF attribution needs"
                )),
                extack_offset: None,
            });
        }
        let pidns = own_pid_namespace()?;
        let btf = Btf::from_sys_fs().map_err(|e| failed("BPF load", &e))?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("TARGET_NETNS", &netns, true)
            .override_global("PIDNS_INUM", &pidns, true)
            .load(PROGRAM)
            .map_err(|e| failed("BPF load", &e))?;
        // fentry where the kernel has it; else the tracepoint. When neither loads, the
        // tracepoint's error is the one reported (fentry's is the kernel lacking a feature).
        let fentry = match only {
            Some(Hook::ConsumeSkb) => Err(Error::Arg("the consume_skb hook was asked for".into())),
            _ => attach_fentry(&mut ebpf, &btf, "netlink_unicast_entry", "netlink_unicast"),
        };
        let hook = match fentry {
            Err(e) if only == Some(Hook::Fentry) => return Err(e),
            Ok(()) => {
                // multicast sends only teach the port table: without them, less is known
                let _ = attach_fentry(
                    &mut ebpf,
                    &btf,
                    "netlink_broadcast_entry",
                    "netlink_broadcast",
                );
                Hook::Fentry
            }
            Err(_) => {
                attach_consume_skb(&mut ebpf)?;
                Hook::ConsumeSkb
            }
        };
        let ring = ebpf
            .take_map("EVENTS")
            .ok_or_else(|| Error::proto("BPF load", "no map EVENTS in the object"))?;
        let ring = RingBuf::try_from(ring).map_err(|e| failed("BPF load", &e))?;
        let stats = ebpf
            .take_map("STATS")
            .ok_or_else(|| Error::proto("BPF load", "no map STATS in the object"))?;
        let stats = Array::try_from(stats).map_err(|e| failed("BPF load", &e))?;
        Ok(Loader {
            _ebpf: ebpf,
            ring,
            stats,
            hook,
        })
    }

    /// Where the program got attached.
    pub fn hook(&self) -> Hook {
        self.hook
    }

    /// Hand every event the ring holds now to `sink`, without waiting; returns how many.
    pub fn drain(&mut self, mut sink: impl FnMut(SendEvent)) -> usize {
        let mut count = 0;
        while let Some(item) = self.ring.next() {
            if let Some(event) = decode(&item) {
                sink(event);
                count += 1;
            }
        }
        count
    }

    /// Events the program could not record: (ring buffer full, messages past its walk's bound).
    pub fn lost(&self) -> Result<(u64, u64)> {
        let get = |index| {
            self.stats
                .get(&index, 0)
                .map_err(|e| failed("BPF map lookup", &e))
        };
        Ok((get(STAT_LOST)?, get(STAT_TRUNCATED)?))
    }

    /// The ring buffer's descriptor: readable (epoll) when events wait.
    pub fn fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}

/// One ring buffer record as a send event (`None` for a record of another size: never, unless
/// the C struct and `RawEvent` disagree, which the live test would show).
fn decode(bytes: &[u8]) -> Option<SendEvent> {
    if bytes.len() < std::mem::size_of::<RawEvent>() {
        return None;
    }
    // SAFETY: the length was checked; RawEvent is plain integers and arrays (any bit pattern is
    // valid) and read_unaligned needs no alignment.
    let raw: RawEvent = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    let comm_len = raw
        .comm
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(raw.comm.len());
    let copied = (raw.copied as usize).min(PREFIX_LEN);
    Some(SendEvent {
        ktime_ns: raw.ktime,
        netns: raw.netns,
        protocol: raw.protocol,
        portid: raw.portid,
        // the C program's enum send_kind
        kind: match raw.kind {
            1 => SendKind::Broadcast { group: raw.dst },
            2 => SendKind::Consumed,
            _ => SendKind::Unicast { dst: raw.dst },
        },
        tgid: raw.tgid,
        tid: raw.tid,
        comm: String::from_utf8_lossy(&raw.comm[..comm_len]).into_owned(),
        nlmsg_len: raw.nlmsg_len,
        nlmsg_type: raw.nlmsg_type,
        nlmsg_flags: raw.nlmsg_flags,
        nlmsg_seq: raw.nlmsg_seq,
        nlmsg_pid: raw.nlmsg_pid,
        index: raw.index,
        data: raw.data[..copied].to_vec(),
    })
}
