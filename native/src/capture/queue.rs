//! The bounded queue between the ring reader and the writer: copies of ring blocks, so that the
//! kernel gets each block back at memory speed however slow the file is.
//!
//! Each queued block is its own anonymous mapping (`mmap`), unmapped when the writer is done with
//! it, so memory goes back to the system after a burst instead of staying in the allocator (glibc
//! keeps freed 1 MiB chunks in its heap once its dynamic mmap threshold has grown). A few empty
//! blocks are kept for reuse, so a writer that keeps up costs no mmap/munmap per block.
//!
//! The queue is bounded in bytes (the bytes the blocks hold, which is what is resident: the pages of
//! a block past its used length are never touched). A block that does not fit is dropped whole,
//! and its packets counted as queue drops; the ring keeps flowing, so the kernel drops nothing
//! because of the file.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Empty blocks kept for reuse, at most.
pub const POOL_BLOCKS: usize = 4;

/// Default cap: this fraction of MemAvailable …
pub const DEFAULT_FRACTION: u64 = 4;
/// … and never more than this.
pub const DEFAULT_MAX: u64 = 1 << 30;

/// The default queue cap for a machine with `available` bytes available (MemAvailable), with a
/// ring of `ring` bytes: ¼ of what is available, at most 1 GiB, and never more than what the
/// ring leaves.
pub fn default_cap(available: u64, ring: u64) -> u64 {
    (available / DEFAULT_FRACTION)
        .min(DEFAULT_MAX)
        .min(available.saturating_sub(ring))
}

/// `MemAvailable` from /proc/meminfo, in bytes.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text, "MemAvailable:")
}

fn parse_meminfo(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// One copied block: an anonymous private mapping of `cap` bytes, `len` of them used.
pub struct Chunk {
    ptr: *mut u8,
    cap: usize,
    len: usize,
    /// Packets in the block (for the drop count, should it not fit).
    pub packets: u32,
}

// SAFETY: the mapping is owned by the Chunk alone.
unsafe impl Send for Chunk {}

impl Chunk {
    fn map(cap: usize) -> Option<Chunk> {
        // SAFETY: a fresh anonymous mapping; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                cap.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(Chunk {
            ptr: ptr.cast(),
            cap: cap.max(1),
            len: 0,
            packets: 0,
        })
    }

    /// The bytes copied in.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: [0, len) lies in the mapping and was written by fill().
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn fill(&mut self, data: &[u8], packets: u32) {
        let n = data.len().min(self.cap);
        // SAFETY: n ≤ cap bytes into our own mapping; the source is a live slice.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, n) };
        self.len = n;
        self.packets = packets;
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping once.
        unsafe { libc::munmap(self.ptr.cast(), self.cap) };
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Bytes queued now.
    pub bytes: u64,
    /// Most bytes ever queued at once.
    pub peak: u64,
    /// Blocks dropped because they did not fit, and their packets and bytes.
    pub dropped_blocks: u64,
    pub dropped_packets: u64,
    pub dropped_bytes: u64,
    /// Bytes held in the reuse pool (resident, not queued).
    pub pooled: u64,
}

struct State {
    blocks: VecDeque<Chunk>,
    pool: Vec<Chunk>,
    /// Queued bytes plus those being copied in (reserved).
    bytes: u64,
    stats: QueueStats,
    /// The reader is done: no more pushes.
    closed: bool,
}

pub struct BlockQueue {
    cap: u64,
    block_size: usize,
    state: Mutex<State>,
    ready: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlockQueue {
    /// A queue of at most `cap` bytes, for blocks of at most `block_size` bytes.
    pub fn new(cap: u64, block_size: usize) -> BlockQueue {
        BlockQueue {
            cap,
            block_size,
            state: Mutex::new(State {
                blocks: VecDeque::new(),
                pool: Vec::new(),
                bytes: 0,
                stats: QueueStats::default(),
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Copy a block in; false (and counted as dropped) when it does not fit under the cap or no
    /// memory can be had for it.
    pub fn push(&self, data: &[u8], packets: u32) -> bool {
        let size = data.len().min(self.block_size) as u64;
        let mut st = lock(&self.state);
        if st.closed {
            // After the end (or after the writer failed): nothing is queued, nor counted.
            return false;
        }
        let drop_it = |st: &mut State| {
            st.stats.dropped_blocks += 1;
            st.stats.dropped_packets += u64::from(packets);
            st.stats.dropped_bytes += size;
        };
        if st.bytes + size > self.cap {
            drop_it(&mut st);
            return false;
        }
        st.bytes += size;
        let reused = st.pool.pop();
        drop(st);
        // The copy is made without the lock: the writer keeps popping meanwhile.
        let chunk = reused.or_else(|| Chunk::map(self.block_size));
        let mut st = lock(&self.state);
        let Some(mut chunk) = chunk else {
            st.bytes -= size;
            drop_it(&mut st);
            return false;
        };
        drop(st);
        chunk.fill(data, packets);
        let mut st = lock(&self.state);
        st.blocks.push_back(chunk);
        st.stats.peak = st.stats.peak.max(st.bytes);
        drop(st);
        self.ready.notify_one();
        true
    }

    /// The oldest block, waiting up to `timeout`; None on timeout or when closed and empty.
    pub fn pop(&self, timeout: Duration) -> Option<Chunk> {
        let mut st = lock(&self.state);
        if st.blocks.is_empty() && !st.closed {
            st = self
                .ready
                .wait_timeout(st, timeout)
                .map_or_else(|p| p.into_inner().0, |r| r.0);
        }
        let chunk = st.blocks.pop_front()?;
        st.bytes -= chunk.len as u64;
        Some(chunk)
    }

    /// Give a written block back: kept for reuse while the pool is small, unmapped otherwise.
    pub fn recycle(&self, mut chunk: Chunk) {
        chunk.len = 0;
        let mut st = lock(&self.state);
        if st.pool.len() < POOL_BLOCKS {
            st.pool.push(chunk);
        }
        // else: dropped here, after the lock (munmap)
    }

    /// No more pushes: pop() returns None once the queue is empty.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }

    /// The writer is gone (a write error): close, and let go of everything queued.
    pub fn abandon(&self) {
        let mut st = lock(&self.state);
        st.closed = true;
        let blocks = std::mem::take(&mut st.blocks);
        let pool = std::mem::take(&mut st.pool);
        st.bytes = 0;
        drop(st);
        drop((blocks, pool));
        self.ready.notify_all();
    }

    /// Closed and empty: the writer is done.
    pub fn finished(&self) -> bool {
        let st = lock(&self.state);
        st.closed && st.blocks.is_empty()
    }

    /// Unmap the reuse pool (at the end of a capture, or when idle).
    pub fn trim(&self) {
        let pool = std::mem::take(&mut lock(&self.state).pool);
        drop(pool);
    }

    pub fn stats(&self) -> QueueStats {
        let st = lock(&self.state);
        QueueStats {
            bytes: st.bytes,
            pooled: (st.pool.len() * self.block_size) as u64,
            ..st.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn rss_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // SAFETY: plain sysconf.
        pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
    }

    #[test]
    fn defaults_follow_available_memory() {
        let gib = 1u64 << 30;
        assert_eq!(default_cap(16 * gib, 64 << 20), gib);
        assert_eq!(default_cap(gib, 64 << 20), gib / 4);
        // a ring that takes nearly all of it leaves the rest, no more
        assert_eq!(default_cap(gib, gib - (10 << 20)), 10 << 20);
        assert_eq!(default_cap(gib, 2 * gib), 0);
        let meminfo = "MemTotal:       24684544 kB\nMemFree:        22793088 kB\nMemAvailable:   24241388 kB\n";
        assert_eq!(
            parse_meminfo(meminfo, "MemAvailable:"),
            Some(24_241_388 * 1024)
        );
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n", "MemAvailable:"), None);
        assert!(mem_available().is_some_and(|m| m > 0));
    }

    #[test]
    fn fifo_order_and_contents() {
        let q = BlockQueue::new(10 * MIB as u64, MIB);
        assert!(q.push(&[1, 2, 3], 1));
        assert!(q.push(&[4; 100], 2));
        let a = q.pop(Duration::from_millis(10));
        assert_eq!(
            a.as_ref().map(|c| (c.bytes().to_vec(), c.packets)),
            Some((vec![1, 2, 3], 1))
        );
        let b = q.pop(Duration::from_millis(10));
        assert_eq!(b.as_ref().map(|c| c.bytes().len()), Some(100));
        assert!(q.pop(Duration::from_millis(10)).is_none());
        q.close();
        assert!(q.finished());
        assert!(q.pop(Duration::from_secs(5)).is_none());
    }

    #[test]
    fn cap_drops_whole_blocks_and_counts_them() {
        let q = BlockQueue::new(3 * MIB as u64, MIB);
        let block = vec![7u8; MIB];
        for _ in 0..3 {
            assert!(q.push(&block, 10));
        }
        // full: the fourth and fifth do not fit
        assert!(!q.push(&block, 11));
        assert!(!q.push(&block[..10], 1));
        let s = q.stats();
        assert_eq!((s.bytes, s.peak), (3 * MIB as u64, 3 * MIB as u64));
        assert_eq!((s.dropped_blocks, s.dropped_packets), (2, 12));
        assert_eq!(s.dropped_bytes, MIB as u64 + 10);
        // room again after a pop: pushes succeed, the peak stays the peak
        let chunk = q.pop(Duration::ZERO);
        assert!(chunk.is_some());
        assert_eq!(q.stats().bytes, 2 * MIB as u64);
        assert!(q.push(&block[..1000], 3));
        let s = q.stats();
        assert_eq!(
            (s.bytes, s.peak, s.dropped_packets),
            (2 * MIB as u64 + 1000, 3 * MIB as u64, 12)
        );
        if let Some(c) = chunk {
            q.recycle(c);
        }
    }

    #[test]
    fn abandoned_queue_lets_go_and_refuses_without_counting() {
        let q = BlockQueue::new(10 * MIB as u64, MIB);
        assert!(q.push(&[1; 1000], 1));
        q.abandon();
        assert!(q.finished());
        assert!(!q.push(&[1; 1000], 5));
        let s = q.stats();
        assert_eq!((s.bytes, s.dropped_packets, s.peak), (0, 0, 1000));
    }

    #[test]
    fn a_zero_cap_drops_everything() {
        let q = BlockQueue::new(0, MIB);
        assert!(!q.push(&[1], 1));
        assert_eq!(q.stats().dropped_packets, 1);
    }

    #[test]
    fn a_reader_and_a_slow_writer_lose_nothing_under_the_cap() {
        let q = std::sync::Arc::new(BlockQueue::new(64 * MIB as u64, 64 * 1024));
        let writer = {
            let q = std::sync::Arc::clone(&q);
            std::thread::spawn(move || {
                let (mut n, mut sum) = (0u64, 0u64);
                loop {
                    match q.pop(Duration::from_millis(50)) {
                        Some(c) => {
                            n += u64::from(c.packets);
                            sum += c.bytes().iter().map(|&b| u64::from(b)).sum::<u64>();
                            std::thread::sleep(Duration::from_micros(50));
                            q.recycle(c);
                        }
                        None if q.finished() => return (n, sum),
                        None => {}
                    }
                }
            })
        };
        let mut expect = 0u64;
        for i in 0..500u32 {
            let data = vec![(i % 251) as u8; 64 * 1024];
            expect += u64::from(i % 251) * 64 * 1024;
            assert!(q.push(&data, 1));
        }
        q.close();
        let got = writer.join().ok();
        assert_eq!(got, Some((500, expect)));
        let s = q.stats();
        assert_eq!((s.bytes, s.dropped_packets), (0, 0));
        assert!(s.peak > 0 && s.peak <= 64 * MIB as u64);
        assert!(s.pooled <= (POOL_BLOCKS * 64 * 1024) as u64);
    }

    /// The peak is given back: after a burst of 192 MiB queued at once and then written, the
    /// process's resident memory is back near where it started (the pool's few blocks aside).
    #[test]
    fn memory_is_released_after_a_burst() {
        let q = BlockQueue::new(256 * MIB as u64, MIB);
        let block = vec![0x5au8; MIB];
        let before = rss_bytes();
        for _ in 0..192 {
            assert!(q.push(&block, 1));
        }
        let during = rss_bytes();
        assert!(
            during >= before + 150 * MIB as u64,
            "192 MiB queued, RSS {before} → {during}"
        );
        while let Some(c) = q.pop(Duration::ZERO) {
            q.recycle(c);
        }
        let after = rss_bytes();
        assert_eq!(q.stats().bytes, 0);
        assert_eq!(q.stats().peak, 192 * MIB as u64);
        assert!(
            after <= before + (POOL_BLOCKS * MIB) as u64 + 24 * MIB as u64,
            "RSS {before} → {during} → {after}: the burst's memory was kept"
        );
        q.trim();
        assert_eq!(q.stats().pooled, 0);
    }
}
