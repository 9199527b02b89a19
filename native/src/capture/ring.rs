//! An `AF_PACKET` socket bound to one interface, reading a `TPACKET_V3` memory-mapped ring:
//! the kernel fills blocks of packets; userspace walks a block and hands it back. No syscall per
//! packet, only a `poll` when no block is ready.
//!
//! Layouts from include/uapi/linux/if_packet.h (declared here: the libc crate's copies are not
//! part of its stable API).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};

use crate::netlink::error::{Error, Result};

const SOL_PACKET: libc::c_int = 263;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;
const ETH_P_ALL: u16 = 0x0003;
/// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where struct sockaddr_ll follows the header.
const TPACKET3_HDRLEN: usize = 48;

#[repr(C)]
#[derive(Default)]
struct TpacketReq3 {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
    tp_retire_blk_tov: u32,
    tp_sizeof_priv: u32,
    tp_feature_req_word: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct TpacketStatsV3 {
    tp_packets: u32,
    tp_drops: u32,
    tp_freeze_q_cnt: u32,
}

// struct tpacket_block_desc { u32 version; u32 offset_to_priv; struct tpacket_hdr_v1 hdr; }
// struct tpacket_hdr_v1 { u32 block_status; u32 num_pkts; u32 offset_to_first_pkt; ... }
const BD_BLOCK_STATUS: usize = 8;
const BD_NUM_PKTS: usize = 12;
const BD_OFFSET_TO_FIRST: usize = 16;
const BD_BLK_LEN: usize = 20;
// struct tpacket3_hdr { u32 tp_next_offset; u32 tp_sec; u32 tp_nsec; u32 tp_snaplen; u32 tp_len;
//                       u32 tp_status; u16 tp_mac; u16 tp_net; ... }
const H_NEXT: usize = 0;
const H_SEC: usize = 4;
const H_NSEC: usize = 8;
const H_SNAPLEN: usize = 12;
const H_LEN: usize = 16;
const H_MAC: usize = 24;
// struct sockaddr_ll { u16 sll_family; be16 sll_protocol; i32 sll_ifindex; u16 sll_hatype;
//                      u8 sll_pkttype; u8 sll_halen; u8 sll_addr[8]; }
const SLL_PROTOCOL: usize = 2;
const SLL_HATYPE: usize = 8;
const SLL_PKTTYPE: usize = 10;

/// The `op` of the error a capture ends with when its link went down (ENETDOWN) or was deleted
/// (ENODEV) under it.
pub const LINK_GONE_OP: &str = "capture(link)";

/// Ring geometry.
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub block_size: u32,
    pub block_count: u32,
    /// Milliseconds after which the kernel hands over a partly filled block.
    pub retire_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            block_size: 1 << 20,
            block_count: 64,
            retire_ms: 50,
        }
    }
}

/// One packet as the ring holds it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub sec: u32,
    pub nsec: u32,
    /// Original length (tp_len); `data` may be shorter if it did not fit (tp_snaplen).
    pub orig_len: u32,
    pub pkttype: u8,
    pub hatype: u16,
    /// The netlink family (sll_protocol, host order).
    pub protocol: u16,
    pub data: &'a [u8],
}

/// Cumulative kernel counters (PACKET_STATISTICS resets on read; these are the running sums).
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelStats {
    /// Packets the socket saw, drops included.
    pub packets: u64,
    pub drops: u64,
    pub freeze_q: u64,
}

/// A block of the ring that userspace owns until this is dropped.
pub struct Block<'r> {
    base: *mut u8,
    size: usize,
    /// Borrows the ring: no other block can be taken, nor the mapping dropped, meanwhile.
    _ring: std::marker::PhantomData<&'r mut Ring>,
}

impl Block<'_> {
    /// How many packets the kernel put in the block.
    pub fn len(&self) -> u32 {
        Ring::read_u32_at(self.base, BD_NUM_PKTS)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block's used bytes, from its start (descriptor included) to the end of its last
    /// packet (`blk_len`): what a copy of it needs.
    pub fn bytes(&self) -> &[u8] {
        let used = Ring::read_u32_at(self.base, BD_BLK_LEN) as usize;
        let used = if (BD_BLK_LEN + 4..=self.size).contains(&used) {
            used
        } else {
            self.size
        };
        // SAFETY: [0, used) lies within this block, which userspace owns while self lives.
        unsafe { std::slice::from_raw_parts(self.base, used) }
    }

    /// The block's packets, in order.
    pub fn frames(&self) -> impl Iterator<Item = Frame<'_>> + '_ {
        frames(self.bytes())
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b2, c, d]) => u32::from_ne_bytes([a, b2, c, d]),
        _ => 0,
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[a, b2]) => u16::from_ne_bytes([a, b2]),
        _ => 0,
    }
}

/// The packets of a block, read from its bytes (in the ring, or a copy of them), in order.
pub fn frames(block: &[u8]) -> impl Iterator<Item = Frame<'_>> + '_ {
    let size = block.len();
    let mut offset = u32_at(block, BD_OFFSET_TO_FIRST) as usize;
    let mut left = u32_at(block, BD_NUM_PKTS);
    std::iter::from_fn(move || loop {
        if left == 0 || offset + TPACKET3_HDRLEN + 20 > size {
            return None;
        }
        left -= 1;
        let here = offset;
        let next = u32_at(block, here + H_NEXT) as usize;
        // A zero next offset ends the block after this frame.
        if next == 0 {
            left = 0;
        }
        offset += next;
        let sll = here + TPACKET3_HDRLEN;
        let start = here + usize::from(u16_at(block, here + H_MAC));
        let snaplen = u32_at(block, here + H_SNAPLEN) as usize;
        let end = start.saturating_add(snaplen).min(size);
        let Some(data) = block.get(start..end) else {
            continue;
        };
        return Some(Frame {
            sec: u32_at(block, here + H_SEC),
            nsec: u32_at(block, here + H_NSEC),
            orig_len: u32_at(block, here + H_LEN),
            pkttype: block.get(sll + SLL_PKTTYPE).copied().unwrap_or(0),
            hatype: u16_at(block, sll + SLL_HATYPE),
            protocol: u16::from_be(u16_at(block, sll + SLL_PROTOCOL)),
            data,
        });
    })
}

/// The number of packets a block holds, read from its bytes.
pub fn block_packets(block: &[u8]) -> u32 {
    u32_at(block, BD_NUM_PKTS)
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        fence(Ordering::Release);
        let status = self.base.wrapping_add(BD_BLOCK_STATUS).cast::<u32>();
        // SAFETY: aligned u32 in the mapping; handing the block back to the kernel.
        unsafe { std::ptr::write_volatile(status, TP_STATUS_KERNEL) };
    }
}

pub struct Ring {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    cfg: RingConfig,
    next_block: u32,
    stats: KernelStats,
}

// SAFETY: the mapping is owned by the Ring and only touched through &mut self.
unsafe impl Send for Ring {}

fn last_error(op: &'static str) -> Error {
    Error::io(&io::Error::last_os_error(), op)
}

fn setsockopt<T>(fd: libc::c_int, name: libc::c_int, value: &T, op: &'static str) -> Result<()> {
    setsockopt_at(fd, SOL_PACKET, name, value, op)
}

fn setsockopt_at<T>(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    op: &'static str,
) -> Result<()> {
    // SAFETY: value points to a live T of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(last_error(op));
    }
    Ok(())
}

impl Ring {
    /// Open the socket in the calling thread's network namespace, map the ring and bind to
    /// `ifindex`. Packets flow from the bind on.
    pub fn open(ifindex: u32, cfg: RingConfig) -> Result<Ring> {
        if cfg.block_size < 4096 || !cfg.block_size.is_power_of_two() || cfg.block_count == 0 {
            return Err(Error::Arg(format!(
                "ring blocks must be a power of two of at least 4096 bytes (got {} × {})",
                cfg.block_count, cfg.block_size
            )));
        }
        // Protocol 0: nothing is queued before the ring exists and the bind names the link.
        // SAFETY: plain syscall.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(last_error("socket(AF_PACKET)"));
        }
        // SAFETY: raw is a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        setsockopt(
            fd.as_raw_fd(),
            PACKET_VERSION,
            &TPACKET_V3,
            "setsockopt(PACKET_VERSION)",
        )?;
        let req = TpacketReq3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: 2048,
            tp_frame_nr: (u64::from(cfg.block_size) * u64::from(cfg.block_count) / 2048) as u32,
            tp_retire_blk_tov: cfg.retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(
            fd.as_raw_fd(),
            PACKET_RX_RING,
            &req,
            "setsockopt(PACKET_RX_RING)",
        )?;
        let map_len = cfg.block_size as usize * cfg.block_count as usize;
        // SAFETY: mapping the ring the kernel just allocated for this fd.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                // Fault the whole ring in now rather than page by page during the first burst.
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(last_error("mmap(PACKET_RX_RING)"));
        }
        let ring = Ring {
            fd,
            map: map.cast(),
            map_len,
            cfg,
            next_block: 0,
            stats: KernelStats::default(),
        };
        // SAFETY: sockaddr_ll is plain old data; zero is a valid start.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: valid fd and sockaddr_ll.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(last_error("bind(AF_PACKET)"));
        }
        Ok(ring)
    }

    fn block(&self, index: u32) -> *mut u8 {
        // SAFETY (of callers' use): index < block_count, so the block lies inside the mapping.
        unsafe { self.map.add(index as usize * self.cfg.block_size as usize) }
    }

    fn read_u32_at(base: *const u8, offset: usize) -> u32 {
        // SAFETY: callers keep offset + 4 within the block.
        unsafe { std::ptr::read_unaligned(base.add(offset).cast::<u32>()) }
    }

    fn block_status(&self, index: u32) -> u32 {
        let status = self
            .block(index)
            .wrapping_add(BD_BLOCK_STATUS)
            .cast::<u32>();
        // SAFETY: aligned u32 inside the mapping, written by the kernel.
        let value = unsafe { std::ptr::read_volatile(status) };
        fence(Ordering::Acquire);
        value
    }

    /// Wait up to `timeout_ms` for a block; true if one is ready.
    pub fn wait(&self, timeout_ms: i32) -> Result<bool> {
        if self.block_status(self.next_block) & TP_STATUS_USER != 0 {
            return Ok(true);
        }
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                return Ok(false);
            }
            return Err(Error::io(&err, "poll(AF_PACKET)"));
        }
        if pfd.revents & libc::POLLERR != 0 {
            if let Some(e) = self.socket_error() {
                return Err(e);
            }
        }
        Ok(self.block_status(self.next_block) & TP_STATUS_USER != 0)
    }

    /// The socket's pending error (SO_ERROR, which reading clears), if any. The kernel sets
    /// ENETDOWN when the bound link goes down or is deleted (af_packet's `packet_notifier`);
    /// a deleted link also unbinds the socket (its ifindex becomes -1, which `getsockname`
    /// shows), so a deleted link reads as ENODEV, a link merely DOWN as ENETDOWN.
    fn socket_error(&self) -> Option<Error> {
        let mut err: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: err and len are valid for the kernel to fill.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 || err == 0 {
            return None;
        }
        if err != libc::ENETDOWN {
            return Some(Error::errno(err, "recv(AF_PACKET)"));
        }
        // The DOWN notification comes first, the unregistration a moment later (after an RCU
        // grace period): give it that moment before calling the link merely DOWN.
        for _ in 0..50 {
            if self.bound_ifindex() <= 0 {
                return Some(Error::errno(libc::ENODEV, LINK_GONE_OP));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Some(Error::errno(libc::ENETDOWN, LINK_GONE_OP))
    }

    /// The ifindex the socket is bound to (-1 once its link was unregistered).
    fn bound_ifindex(&self) -> i32 {
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: sll and len are valid for the kernel to fill.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return 0;
        }
        sll.sll_ifindex
    }

    /// Hand every packet of the next ready block to `each`, then return the block to the kernel.
    /// Returns the number of packets, or None when no block is ready.
    /// The next block the kernel has handed over, if any. Its frames point into the ring and
    /// stay valid while the `Block` lives; dropping it hands the block back to the kernel.
    pub fn take_block(&mut self) -> Option<Block<'_>> {
        let index = self.next_block;
        if self.block_status(index) & TP_STATUS_USER == 0 {
            return None;
        }
        let base = self.block(index);
        self.next_block = (index + 1) % self.cfg.block_count;
        Some(Block {
            base,
            size: self.cfg.block_size as usize,
            _ring: std::marker::PhantomData,
        })
    }

    /// Take no more packets: a socket filter that accepts none. The kernel counts a packet
    /// (PACKET_STATISTICS) only once the filter let it in, so from here on its counters hold
    /// still while the ring's last blocks are read, and the final statistics equal what was read
    /// plus what was dropped — not also what arrived between the last read and the close.
    pub fn stop_receiving(&self) -> Result<()> {
        let mut accept_none = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let program = libc::sock_fprog {
            len: 1,
            filter: accept_none.as_mut_ptr(),
        };
        setsockopt_at(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &program,
            "setsockopt(SO_ATTACH_FILTER)",
        )
    }

    pub fn retire_ms(&self) -> u32 {
        self.cfg.retire_ms
    }

    /// Read (and so reset) the kernel's counters and add them to the running sums.
    pub fn kernel_stats(&mut self) -> KernelStats {
        let mut st = TpacketStatsV3::default();
        let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
        // SAFETY: st and len are valid for the kernel to fill.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStatsV3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            self.stats.packets += u64::from(st.tp_packets);
            self.stats.drops += u64::from(st.tp_drops);
            self.stats.freeze_q += u64::from(st.tp_freeze_q_cnt);
        }
        self.stats
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping once.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}
