//! A running capture. Live, a reader thread drains the kernel's ring at memory speed: it copies
//! each block the kernel hands over into a bounded userspace queue (queue.rs) and gives the block
//! straight back, never waiting on the file. A writer thread empties the queue: it counts messages
//! per family and type, writes pcap when asked, and passes packets to a decoder thread through a
//! bounded hand-off; decoded records wait for JS in a bounded queue of JSON-lines batches.
//!
//! Memory stays bounded: a block that does not fit in the queue is dropped whole (queue drops,
//! in packets); when the decoder or JS falls behind, the packets or records that do not fit are
//! counted as userspace drops (`user_drops`) instead of queued. The pcap file and the counters
//! never depend on the decoder: they are complete whatever JS does. Offline reading (`-r`) waits
//! instead of dropping.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::decode::{self, GenlNames, Options, PacketMeta, Record};
use super::names;
use super::pcapio::{Format, Interface, Output, Packet, Rotation};
use super::process::Process;
use super::queue::{BlockQueue, Chunk};
use super::ring::{self, Ring, RingConfig};
use crate::attribution::proc::ProcEngine;
use crate::attribution::{self, clock, Attribution, CapturedPacket};
use crate::netlink::error::{panic_message, Error, Result};

/// Records waiting for JS, at most.
pub const QUEUE_RECORDS: usize = 65_536;
/// Bytes of JSON text waiting for JS, at most (records with their whole attribute tree run to
/// kilobytes each: the record count alone would let the queue hold a whole file).
pub const QUEUE_BYTES: usize = 16 << 20;
/// Bytes of packets waiting for the decoder, at most.
pub const DECODE_BYTES: usize = 32 << 20;
/// Records per batch handed to JS, at most.
pub const BATCH_RECORDS: usize = 2048;

/// What to capture and what to do with it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub write: Option<String>,
    pub force: bool,
    /// -C/-G/-W (only with a -w file).
    pub rotation: Rotation,
    /// --pcapng: write pcapng whatever the -w name (Format::of).
    pub pcapng: bool,
    /// What a pcapng file names the capture's interface (the nlmon link, its namespace).
    pub interface: Interface,
    pub decode: bool,
    /// What each decoded record carries (hex, the spec-driven tree).
    pub decode_options: Options,
    /// Netlink families to keep (None: all).
    pub families: Option<Vec<u16>>,
    /// Stop after this many messages.
    pub count: Option<u64>,
    pub ring: RingConfig,
    /// The userspace queue's cap in bytes (see queue.rs).
    pub queue_bytes: u64,
}

/// Who sent each packet of a live capture (issue 10): the eBPF engine when it loaded, else the
/// /proc fallback, and the `--pid`/`--comm` selection. Lives in the writer thread, which sees
/// every packet in order before it is written or decoded, so the pcap(ng) file and the records
/// name the same process.
pub struct LiveAttribution {
    /// None: the fallback names the processes.
    pub bpf: Option<Attribution>,
    /// The fallback, and what eBPF lacks: the process tree (`--pid`) and argv read at exec.
    pub proc: ProcEngine,
    /// `--pid`/`--comm` given: packets of other processes (or of none) are not kept.
    pub selecting: bool,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC at the start (`clock::realtime_offset_ns`).
    pub realtime_offset_ns: i128,
    /// --cmdline: each named process's argv (read at its exec when the events allow).
    pub cmdline: bool,
}

impl LiveAttribution {
    /// A frame's stamp on CLOCK_MONOTONIC (the events' clock).
    fn captured_ns(&self, frame: &ring::Frame<'_>) -> Option<u64> {
        clock::monotonic_of(u64::from(frame.sec), frame.nsec, self.realtime_offset_ns)
    }

    /// The process behind each packet of a block, index for index.
    fn block(&mut self, frames: &[ring::Frame<'_>]) -> Vec<Option<Process>> {
        let packets: Vec<CapturedPacket<'_>> = frames
            .iter()
            .map(|f| CapturedPacket {
                protocol: f.protocol,
                pkttype: u16::from(f.pkttype),
                captured_ns: self.captured_ns(f),
                data: f.data,
            })
            .collect();
        // The fallback runs on every block when it runs at all (it remembers unanswered
        // requests from block to block): alone without eBPF, else for what eBPF left unnamed.
        let by_proc = self
            .proc
            .is_active()
            .then(|| self.proc.attribute(&packets, self.cmdline));
        let Some(engine) = self.bpf.as_mut() else {
            return by_proc.unwrap_or_else(|| vec![None; frames.len()]);
        };
        let mut named: Vec<Option<Process>> =
            packets.iter().map(|p| engine.attribute_packet(p)).collect();
        if self.cmdline {
            // argv as each process had it at its exec (read once the events are in for the block)
            let wanted: Vec<(u32, Option<u64>)> = named
                .iter()
                .zip(&packets)
                .filter_map(|(named, packet)| Some((named.as_ref()?.pid, packet.captured_ns)))
                .collect();
            let mut at_exec = self.proc.cmdlines_at_exec(&wanted).into_iter();
            for process in named.iter_mut().flatten() {
                process.cmdline = at_exec
                    .next()
                    .flatten()
                    .or_else(|| attribution::cmdline(process.pid));
            }
        }
        if let Some(by_proc) = by_proc {
            for (named, fallback) in named.iter_mut().zip(by_proc) {
                if named.is_none() {
                    *named = fallback;
                }
            }
        }
        named
    }

    /// Whether `--pid`/`--comm` keep this packet.
    fn keeps(&self, frame: &ring::Frame<'_>, process: Option<&Process>) -> bool {
        !self.selecting || self.proc.keeps(process, self.captured_ns(frame))
    }

    fn publish_lost(&self, shared: &Shared) {
        let bpf = self
            .bpf
            .as_ref()
            .and_then(|b| b.lost_events().ok())
            .map_or(0, |lost| lost.ring_full + lost.truncated);
        shared
            .counters
            .attribution_lost
            .store(bpf + self.proc.lost_events(), Ordering::Relaxed);
    }
}

/// The op of the error a capture ends with when its `--netns` namespace was deleted under it.
pub const NETNS_GONE_OP: &str = "capture(netns)";

/// A `--netns` path to watch while capturing: the namespace's name is deleted (`ip netns del`)
/// or its process exits (`/proc/PID/ns/net`) when the path stops naming the namespace the
/// capture entered. (The namespace itself lives on while the capture's socket holds it.)
#[derive(Debug, Clone)]
pub struct NetnsWatch {
    path: String,
    id: (u64, u64),
}

fn file_id(path: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl NetnsWatch {
    /// Note what `path` names now (None if it names nothing).
    pub fn new(path: &str) -> Option<NetnsWatch> {
        Some(NetnsWatch {
            path: path.to_string(),
            id: file_id(path)?,
        })
    }

    pub fn gone(&self) -> bool {
        file_id(&self.path) != Some(self.id)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub packets: u64,
    pub messages: u64,
    pub bytes: u64,
    pub kernel_packets: u64,
    pub kernel_drops: u64,
    pub user_drops: u64,
    pub written: u64,
    /// pcap files opened (more than one with -C/-G or SIGHUP).
    pub files: u64,
    /// Packets of ring blocks dropped because the queue was full.
    pub queue_drops: u64,
    /// Most bytes queued at once, and the queue's cap.
    pub queue_peak: u64,
    pub queue_limit: u64,
    /// Packets whose process is known (live attribution).
    pub attributed: u64,
    /// Events that could not be recorded: eBPF sends missed, proc connector events dropped.
    pub attribution_lost: u64,
}

#[derive(Default)]
struct Atomics {
    packets: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
    kernel_packets: AtomicU64,
    kernel_drops: AtomicU64,
    user_drops: AtomicU64,
    written: AtomicU64,
    files: AtomicU64,
    queue_drops: AtomicU64,
    queue_peak: AtomicU64,
    queue_limit: AtomicU64,
    attributed: AtomicU64,
    attribution_lost: AtomicU64,
}

struct Queue {
    batches: VecDeque<(String, usize)>,
    records: usize,
    bytes: usize,
    /// No more batches will come.
    done: bool,
    /// Threads (reader, decoder) that have not finished yet.
    producers: usize,
    error: Option<Error>,
}

pub struct Shared {
    stop: AtomicBool,
    /// A new file was asked for (SIGHUP); the writer thread starts it between two batches.
    rotate: AtomicBool,
    queue: Mutex<Queue>,
    ready: Condvar,
    space: Condvar,
    counters: Atomics,
    decode_bytes: AtomicUsize,
    /// (family, type) → messages; complete when the reader is done.
    types: Mutex<HashMap<(u16, u16), u64>>,
    genl: Mutex<GenlNames>,
    /// Notes for stderr at the end (a file reader's skipped packets).
    notes: Mutex<Vec<String>>,
    /// Whether to wait for JS instead of dropping (offline reading).
    backpressure: bool,
}

/// What `next()` gives JS.
#[derive(Debug, Default)]
pub struct Next {
    pub records: String,
    pub count: usize,
    pub done: bool,
    pub counters: Counters,
    pub error: Option<Error>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn new(genl: GenlNames, backpressure: bool, producers: usize) -> Arc<Shared> {
        Arc::new(Shared {
            stop: AtomicBool::new(false),
            rotate: AtomicBool::new(false),
            queue: Mutex::new(Queue {
                batches: VecDeque::new(),
                records: 0,
                bytes: 0,
                done: false,
                producers,
                error: None,
            }),
            ready: Condvar::new(),
            space: Condvar::new(),
            counters: Atomics::default(),
            decode_bytes: AtomicUsize::new(0),
            types: Mutex::new(HashMap::new()),
            genl: Mutex::new(genl),
            notes: Mutex::new(Vec::new()),
            backpressure,
        })
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake an offline reader waiting for space.
        self.space.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn counters(&self) -> Counters {
        let c = &self.counters;
        Counters {
            packets: c.packets.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            kernel_packets: c.kernel_packets.load(Ordering::Relaxed),
            kernel_drops: c.kernel_drops.load(Ordering::Relaxed),
            user_drops: c.user_drops.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            files: c.files.load(Ordering::Relaxed),
            queue_drops: c.queue_drops.load(Ordering::Relaxed),
            queue_peak: c.queue_peak.load(Ordering::Relaxed),
            queue_limit: c.queue_limit.load(Ordering::Relaxed),
            attributed: c.attributed.load(Ordering::Relaxed),
            attribution_lost: c.attribution_lost.load(Ordering::Relaxed),
        }
    }

    /// Queue a batch for JS; in live mode a full queue drops it (counted).
    fn push(&self, text: String, count: usize) {
        if count == 0 {
            return;
        }
        let mut q = lock(&self.queue);
        let full =
            |q: &Queue| q.records + count > QUEUE_RECORDS || q.bytes + text.len() > QUEUE_BYTES;
        if self.backpressure {
            while full(&q) && !q.batches.is_empty() && !self.stopping() {
                q = self
                    .space
                    .wait_timeout(q, Duration::from_millis(100))
                    .map_or_else(|p| p.into_inner().0, |r| r.0);
            }
        } else if full(&q) {
            drop(q);
            self.counters
                .user_drops
                .fetch_add(count as u64, Ordering::Relaxed);
            return;
        }
        q.records += count;
        q.bytes += text.len();
        q.batches.push_back((text, count));
        drop(q);
        self.ready.notify_all();
    }

    fn finish(&self, error: Option<Error>) {
        let mut q = lock(&self.queue);
        if q.error.is_none() {
            q.error = error;
        }
        q.producers = q.producers.saturating_sub(1);
        if q.producers == 0 {
            q.done = true;
        }
        drop(q);
        self.ready.notify_all();
    }

    /// Wait up to `timeout` for records; returns what is queued (all of it, in order).
    pub fn next(&self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        let mut q = lock(&self.queue);
        while q.batches.is_empty() && !q.done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            q = self
                .ready
                .wait_timeout(q, deadline - now)
                .map_or_else(|p| p.into_inner().0, |r| r.0);
        }
        let mut out = Next::default();
        while let Some((text, count)) = q.batches.pop_front() {
            out.records.push_str(&text);
            out.count += count;
            q.records -= count;
            q.bytes -= text.len();
            if out.count >= 4 * BATCH_RECORDS || out.records.len() >= QUEUE_BYTES / 4 {
                break;
            }
        }
        out.done = q.done && q.batches.is_empty();
        if out.done {
            out.error = q.error.clone();
        }
        drop(q);
        self.space.notify_all();
        out.counters = self.counters();
        out
    }

    /// Messages per (family, type), named, most frequent first.
    pub fn summary(&self) -> Vec<(String, String, u64)> {
        let genl = lock(&self.genl).clone();
        let mut rows: Vec<(String, String, u64)> = lock(&self.types)
            .iter()
            .map(|(&(family, msg_type), &n)| {
                let type_name = if msg_type == u16::MAX {
                    "MALFORMED".to_string()
                } else {
                    names::type_name(family, msg_type, |id| genl.get(id).map(str::to_string))
                };
                (names::family_name(family).into_owned(), type_name, n)
            })
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
        rows
    }
}

/// A packet on its way to the decoder.
struct Pending {
    meta: PacketMeta,
    data: Vec<u8>,
    /// Decode at most this many messages (for --count).
    take: usize,
    /// Who sent the packet (or owns the port it goes to), when attribution knows.
    process: Option<Process>,
}

/// The handle JS holds.
pub struct Session {
    pub shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Session {
    /// What the reader has to say besides records and errors (complete once done).
    pub fn notes(&self) -> Vec<String> {
        lock(&self.shared.notes).clone()
    }

    pub fn stop(&self) {
        self.shared.request_stop();
    }

    /// Start a new file now (with rotation configured; otherwise nothing happens).
    pub fn rotate(&self) {
        self.shared.rotate.store(true, Ordering::SeqCst);
    }

    /// Wait for the threads (after stop, or after the source ended).
    pub fn join(&self) {
        let threads: Vec<JoinHandle<()>> = lock(&self.threads).drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.request_stop();
    }
}

fn spawn_named(name: &str, work: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map_err(|e| Error::io(&e, "spawn thread"))
}

/// Start the decoder thread; returns the sender the reader feeds.
fn start_decoder(
    shared: &Arc<Shared>,
    genl: GenlNames,
    opts: Options,
    capacity: usize,
) -> Result<(SyncSender<Pending>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::sync_channel::<Pending>(capacity);
    let shared = Arc::clone(shared);
    let handle = spawn_named("nlmonctl-decode", move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_loop(&shared, genl, opts, &rx)
        }));
        shared.finish(
            outcome
                .err()
                .map(|p| Error::Panic(panic_message(p.as_ref()))),
        );
    })?;
    Ok((tx, handle))
}

fn decode_loop(shared: &Shared, mut genl: GenlNames, opts: Options, rx: &Receiver<Pending>) {
    let mut records: Vec<Record> = Vec::new();
    let mut text = String::new();
    let mut count = 0usize;
    let flush = |text: &mut String, count: &mut usize| {
        shared.push(std::mem::take(text), *count);
        *count = 0;
    };
    loop {
        let pending = if count == 0 {
            match rx.recv() {
                Ok(p) => p,
                Err(_) => break,
            }
        } else {
            match rx.try_recv() {
                Ok(p) => p,
                Err(mpsc::TryRecvError::Empty) => {
                    flush(&mut text, &mut count);
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            }
        };
        shared
            .decode_bytes
            .fetch_sub(pending.data.len(), Ordering::Relaxed);
        records.clear();
        decode::decode_packet(&pending.meta, &pending.data, &mut genl, opts, &mut records);
        records.truncate(pending.take);
        if pending.process.is_some() {
            for r in &mut records {
                r.process.clone_from(&pending.process);
            }
        }
        count += append_json_lines(&records, &mut text);
        if count >= BATCH_RECORDS {
            flush(&mut text, &mut count);
        }
    }
    flush(&mut text, &mut count);
    *lock(&shared.genl) = genl;
}

/// Append one JSON line per record (the live decoder and the offline reader); how many.
fn append_json_lines(records: &[decode::Record], text: &mut String) -> usize {
    let mut count = 0;
    for record in records {
        if let Ok(line) = serde_json::to_string(record) {
            text.push_str(&line);
            text.push('\n');
            count += 1;
        }
    }
    count
}

/// Per-packet bookkeeping shared by the live and offline readers. Returns how many messages of
/// the packet to keep (0: skip it), and whether the count limit is now reached.
struct Tally {
    families: Option<Vec<u16>>,
    count: Option<u64>,
    messages: u64,
    types: HashMap<(u16, u16), u64>,
    /// The packets' netlink byte order (a big-endian host's file).
    big_endian: bool,
}

impl Tally {
    fn admit(&mut self, family: u16, data: &[u8]) -> (usize, bool) {
        if let Some(families) = &self.families {
            if !families.contains(&family) {
                return (0, false);
            }
        }
        let remaining = self
            .count
            .map_or(u64::MAX, |c| c.saturating_sub(self.messages));
        if remaining == 0 {
            return (0, true);
        }
        let mut kept = 0usize;
        let types = &mut self.types;
        decode::count_messages(data, self.big_endian, |t| {
            if (kept as u64) < remaining {
                *types.entry((family, t)).or_insert(0) += 1;
                kept += 1;
            }
        });
        // An empty packet still counts as one (malformed) record for the decoder.
        let kept = kept.max(usize::from(data.is_empty()));
        self.messages += kept as u64;
        let reached = self.count.is_some_and(|c| self.messages >= c);
        (kept, reached)
    }
}

/// Open the live capture: the ring must be opened (in the right namespace) by the caller.
pub fn start_live(
    ring: Ring,
    genl: GenlNames,
    settings: Settings,
    watch: Option<NetnsWatch>,
    attribution: Option<LiveAttribution>,
) -> Result<Session> {
    let writer = match &settings.write {
        Some(path) => Some(Output::open(
            path,
            settings.force,
            settings.rotation,
            Format::of(path, settings.pcapng, settings.interface.clone()),
        )?),
        None => None,
    };
    // Producers: the reader, the writer and, when decoding, the decoder.
    let shared = Shared::new(genl.clone(), false, 2 + usize::from(settings.decode));
    let queue = Arc::new(BlockQueue::new(
        settings.queue_bytes,
        settings.ring.block_size as usize,
    ));
    shared
        .counters
        .queue_limit
        .store(settings.queue_bytes, Ordering::Relaxed);
    let mut threads = Vec::new();
    let decoder = if settings.decode {
        let (tx, handle) = start_decoder(&shared, genl, settings.decode_options, 16_384)?;
        threads.push(handle);
        Some(tx)
    } else {
        None
    };
    let tally = Tally {
        families: settings.families.clone(),
        count: settings.count,
        messages: 0,
        types: HashMap::new(),
        big_endian: cfg!(target_endian = "big"),
    };
    let (writer_shared, writer_queue) = (Arc::clone(&shared), Arc::clone(&queue));
    threads.push(spawn_named("nlmonctl-write", move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write_loop(
                &writer_shared,
                &writer_queue,
                writer,
                decoder,
                tally,
                attribution,
            )
        }));
        if outcome.as_ref().map_or(true, Result::is_err) {
            // Nobody empties the queue any more: end the capture, keep nothing queued.
            writer_queue.abandon();
            writer_shared.request_stop();
        }
        writer_shared.finish(match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => Some(Error::Panic(panic_message(payload.as_ref()))),
        });
    })?);
    let reader_shared = Arc::clone(&shared);
    let reader_queue = Arc::clone(&queue);
    let reader = spawn_named("nlmonctl-capture", move || {
        let queue = reader_queue;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_loop(&reader_shared, ring, &queue, watch)
        }));
        // Whatever happened, the writer finishes what is queued and ends.
        queue.close();
        reader_shared.finish(match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => Some(Error::Panic(panic_message(payload.as_ref()))),
        });
    });
    match reader {
        Ok(handle) => threads.push(handle),
        Err(e) => {
            // The writer (and decoder) would wait for a reader that never comes.
            queue.close();
            shared.request_stop();
            return Err(e);
        }
    }
    Ok(Session {
        shared,
        threads: Mutex::new(threads),
    })
}

/// Queue a copy of the packet for the decoder thread, or count its messages as dropped when the
/// decoder is behind (bounded by DECODE_BYTES and the channel's capacity).
fn hand_to_decoder(
    shared: &Shared,
    tx: &SyncSender<Pending>,
    meta: PacketMeta,
    data: &[u8],
    take: usize,
    process: Option<Process>,
) {
    let c = &shared.counters;
    let size = data.len();
    if shared.decode_bytes.load(Ordering::Relaxed) + size > DECODE_BYTES {
        c.user_drops.fetch_add(take as u64, Ordering::Relaxed);
        return;
    }
    shared.decode_bytes.fetch_add(size, Ordering::Relaxed);
    let pending = Pending {
        meta,
        data: data.to_vec(),
        take,
        process,
    };
    if let Err(TrySendError::Full(p) | TrySendError::Disconnected(p)) = tx.try_send(pending) {
        shared
            .decode_bytes
            .fetch_sub(p.data.len(), Ordering::Relaxed);
        c.user_drops.fetch_add(take as u64, Ordering::Relaxed);
    }
}

/// The reader: ring blocks into the queue as fast as the kernel fills them, and the kernel's and
/// the queue's counters. Ends after a stop request (plus a grace period for the kernel's partly
/// filled block), when the link goes down or away, or when the watched namespace is deleted.
fn read_loop(
    shared: &Shared,
    mut ring: Ring,
    queue: &BlockQueue,
    watch: Option<NetnsWatch>,
) -> Result<()> {
    let c = &shared.counters;
    let publish = |ring: &mut Ring| {
        let k = ring.kernel_stats();
        c.kernel_packets.store(k.packets, Ordering::Relaxed);
        c.kernel_drops.store(k.drops, Ordering::Relaxed);
        let q = queue.stats();
        c.queue_drops.store(q.dropped_packets, Ordering::Relaxed);
        c.queue_peak.store(q.peak, Ordering::Relaxed);
    };
    let mut last_stats = Instant::now();
    let mut last_watch = Instant::now();
    let mut failure: Option<Error> = None;
    // After a stop request the kernel still holds a partly filled block until its retire
    // timer fires: keep reading for a little longer than that, then drain and end.
    let grace = Duration::from_millis(u64::from(ring.retire_ms()) * 2 + 50);
    let mut stop_at: Option<Instant> = None;
    loop {
        if stop_at.is_none() && (shared.stopping() || failure.is_some()) {
            stop_at = Some(Instant::now() + grace);
            // Best effort: without it the last counters may include packets never read.
            let _ = ring.stop_receiving();
        }
        let stopping = stop_at.is_some_and(|t| Instant::now() >= t);
        if !stopping {
            if let Err(e) = ring.wait(if stop_at.is_some() { 10 } else { 100 }) {
                failure.get_or_insert(e);
            }
        }
        let mut got_block = false;
        while let Some(block) = ring.take_block() {
            got_block = true;
            // Copied, then handed back to the kernel at once (when `block` drops).
            queue.push(block.bytes(), block.len());
        }
        if got_block || last_stats.elapsed() > Duration::from_millis(250) || stopping {
            publish(&mut ring);
            last_stats = Instant::now();
        }
        if let Some(w) = &watch {
            if failure.is_none() && last_watch.elapsed() > Duration::from_millis(250) {
                last_watch = Instant::now();
                if w.gone() {
                    failure = Some(Error::errno(libc::ENOENT, NETNS_GONE_OP));
                }
            }
        }
        if stopping {
            break;
        }
    }
    publish(&mut ring);
    failure.map_or(Ok(()), Err)
}

/// The writer: empties the queue in order, counts, writes pcap, feeds the decoder. Ends when
/// the reader is done and the queue is empty, or on a write error (the file then ends at its
/// last whole record).
fn write_loop(
    shared: &Shared,
    queue: &BlockQueue,
    mut writer: Option<Output>,
    decoder: Option<SyncSender<Pending>>,
    mut tally: Tally,
    mut attribution: Option<LiveAttribution>,
) -> Result<()> {
    let mut index = 0u64;
    let mut reached = false;
    let mut last_types = Instant::now();
    let publish = |w: &Output| {
        let c = &shared.counters;
        c.written.store(w.records(), Ordering::Relaxed);
        c.files.store(w.files(), Ordering::Relaxed);
    };
    if let Some(w) = &writer {
        publish(w);
    }
    loop {
        // Between two batches, so that no record is split or lost between files; idle too, so
        // that -G files start on time when nothing is captured.
        if let Some(w) = writer.as_mut() {
            let asked = shared.rotate.swap(false, Ordering::SeqCst);
            if asked || w.due() {
                let result = w.rotate();
                publish(w);
                if let Err(e) = result {
                    *lock(&shared.types) = tally.types;
                    return Err(e);
                }
            }
        }
        let Some(chunk) = queue.pop(Duration::from_millis(100)) else {
            if queue.finished() {
                break;
            }
            // Idle: the burst is over, give the reuse pool's memory back too.
            queue.trim();
            continue;
        };
        if !reached {
            let result = write_chunk(
                shared,
                &chunk,
                writer.as_mut(),
                decoder.as_ref(),
                &mut tally,
                &mut index,
                attribution.as_mut(),
            );
            if let Some(w) = &writer {
                publish(w);
            }
            match result {
                Ok(now_reached) => reached = now_reached,
                Err(e) => {
                    *lock(&shared.types) = tally.types;
                    return Err(e);
                }
            }
            if reached {
                // --count: the reader stops; what it still queues is read and let go.
                shared.request_stop();
            }
        }
        queue.recycle(chunk);
        if last_types.elapsed() > Duration::from_millis(250) {
            *lock(&shared.types) = tally.types.clone();
            if let Some(a) = &attribution {
                a.publish_lost(shared);
            }
            last_types = Instant::now();
        }
    }
    if let Some(a) = &attribution {
        a.publish_lost(shared);
    }
    queue.trim();
    *lock(&shared.types) = tally.types;
    Ok(())
}

/// One queued block: its packets counted, written and handed to the decoder. Returns whether
/// --count is now reached.
fn write_chunk(
    shared: &Shared,
    chunk: &Chunk,
    writer: Option<&mut Output>,
    decoder: Option<&SyncSender<Pending>>,
    tally: &mut Tally,
    index: &mut u64,
    mut attribution: Option<&mut LiveAttribution>,
) -> Result<bool> {
    let c = &shared.counters;
    let mut reached = false;
    let (mut packets, mut messages, mut bytes) = (0u64, 0u64, 0u64);
    // The packets to write, with their processes (which the written packets borrow).
    let mut kept: Vec<(ring::Frame<'_>, Option<Process>)> = Vec::new();
    let mut attributed = 0u64;
    let frames: Vec<ring::Frame<'_>> = ring::frames(chunk.bytes()).collect();
    let processes = match attribution.as_deref_mut() {
        Some(a) => a.block(&frames),
        None => vec![None; frames.len()],
    };
    for (frame, process) in frames.into_iter().zip(processes) {
        if reached {
            break;
        }
        if let Some(a) = attribution.as_deref() {
            if !a.keeps(&frame, process.as_ref()) {
                continue;
            }
        }
        let (take, now_reached) = tally.admit(frame.protocol, frame.data);
        reached = now_reached;
        if take == 0 {
            continue;
        }
        *index += 1;
        packets += 1;
        messages += take as u64;
        bytes += frame.data.len() as u64;
        let pkttype = u16::from(frame.pkttype);
        attributed += u64::from(process.is_some());
        if let Some(tx) = decoder {
            let meta = PacketMeta {
                index: *index,
                sec: u64::from(frame.sec),
                nsec: frame.nsec,
                pkttype,
                family: frame.protocol,
                truncated: false,
                big_endian: cfg!(target_endian = "big"),
            };
            hand_to_decoder(shared, tx, meta, frame.data, take, process.clone());
        }
        if writer.is_some() {
            kept.push((frame, process));
        }
    }
    c.packets.fetch_add(packets, Ordering::Relaxed);
    c.messages.fetch_add(messages, Ordering::Relaxed);
    c.bytes.fetch_add(bytes, Ordering::Relaxed);
    c.attributed.fetch_add(attributed, Ordering::Relaxed);
    if let Some(w) = writer {
        let to_write: Vec<Packet<'_>> = kept
            .iter()
            .map(|(frame, process)| Packet {
                sec: frame.sec,
                nsec: frame.nsec,
                pkttype: u16::from(frame.pkttype),
                family: frame.protocol,
                orig_len: frame.orig_len,
                data: frame.data,
                // pcapng writes it as the packet's comment
                process: process.as_ref(),
                notes: &[],
            })
            .collect();
        // Straight from the queued copy to the file (writev).
        w.write_packets(&to_write)?;
    }
    Ok(reached)
}

/// Read a pcap file (ours or tcpdump's) and decode it, in order, waiting for JS instead of
/// dropping. `--family` and `--count` apply as in a live capture.
pub fn start_offline(path: &str, genl: GenlNames, settings: Settings) -> Result<Session> {
    let reader = super::pcapread::Reader::open(path)?;
    let output = match &settings.write {
        Some(dst) => Some(OfflineOutput::open(path, dst, &settings)?),
        None => None,
    };
    let shared = Shared::new(genl.clone(), true, 1);
    let worker = Arc::clone(&shared);
    // A file of a host of the other byte order: its netlink messages are in that host's.
    let big_endian = reader.foreign_order != cfg!(target_endian = "big");
    let mut tally = Tally {
        families: settings.families.clone(),
        count: settings.count,
        messages: 0,
        types: HashMap::new(),
        big_endian,
    };
    let opts = settings.decode.then_some(settings.decode_options);
    let handle = spawn_named("nlmonctl-read", move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            offline_loop(&worker, reader, genl, opts, &mut tally, output)
        }));
        *lock(&worker.types) = std::mem::take(&mut tally.types);
        worker.finish(match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => Some(Error::Panic(panic_message(payload.as_ref()))),
        });
    })?;
    Ok(Session {
        shared,
        threads: Mutex::new(vec![handle]),
    })
}

/// `capture -r IN -w OUT`: the packets `--family`/`--count` keep, copied into OUT in the format
/// its name (or --pcapng) asks for; pcapng keeps each packet's comments (process and notes) and
/// the input's interface name and description. OUT is opened at once (an existing file is refused before
/// anything is read); its first block waits for the input's interface block.
struct OfflineOutput {
    path: String,
    pcapng: bool,
    out: Option<super::pcapio::BlockingFd>,
    writer: Option<super::pcapio::Writer>,
}

impl OfflineOutput {
    fn open(src: &str, dst: &str, settings: &Settings) -> Result<OfflineOutput> {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &str| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        if src != "-" && dst != "-" && id(dst).is_some() && id(dst) == id(src) {
            return Err(Error::Arg(format!(
                "-w {dst} is the file -r reads: write the result to another file"
            )));
        }
        Ok(OfflineOutput {
            path: dst.to_string(),
            pcapng: settings.pcapng,
            out: Some(super::pcapio::open_output(dst, settings.force)?),
            writer: None,
        })
    }

    fn writer(&mut self, reader: &super::pcapread::Reader) -> Result<&mut super::pcapio::Writer> {
        if let Some(out) = self.out.take() {
            let interface = reader.interface().unwrap_or_default();
            let format = Format::of(&self.path, self.pcapng, interface);
            self.writer = Some(super::pcapio::Writer::with_format(out, &format)?);
        }
        self.writer
            .as_mut()
            .ok_or_else(|| Error::proto("write(pcap)", "the output was lost".to_string()))
    }

    fn publish(&self, shared: &Shared) {
        let c = &shared.counters;
        let written = self.writer.as_ref().map_or(0, |w| w.records());
        c.written.store(written, Ordering::Relaxed);
        c.files.store(1, Ordering::Relaxed);
    }
}

fn offline_loop(
    shared: &Shared,
    mut reader: super::pcapread::Reader,
    mut genl: GenlNames,
    opts: Option<Options>,
    tally: &mut Tally,
    mut output: Option<OfflineOutput>,
) -> Result<()> {
    let mut result = offline_records(shared, &mut reader, &mut genl, opts, tally, output.as_mut());
    if let Some(o) = output.as_mut() {
        // An empty input still gives a whole (empty) file.
        let ended = o.writer(&reader).map(drop);
        o.publish(shared);
        result = result.and(ended);
    }
    note_skipped(shared, &reader);
    *lock(&shared.genl) = genl;
    result
}

fn offline_records(
    shared: &Shared,
    reader: &mut super::pcapread::Reader,
    genl: &mut GenlNames,
    opts: Option<Options>,
    tally: &mut Tally,
    mut output: Option<&mut OfflineOutput>,
) -> Result<()> {
    let c = &shared.counters;
    let mut records = Vec::new();
    let mut text = String::new();
    let mut count = 0usize;
    let mut index = 0u64;
    while let Some(packet) = reader.next_packet() {
        if shared.stopping() {
            break;
        }
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                // Every complete record before the problem is shown first (a file cut short).
                shared.push(text, count);
                return Err(e);
            }
        };
        index += 1;
        let (take, reached) = tally.admit(packet.family, &packet.data);
        if take > 0 {
            c.packets.fetch_add(1, Ordering::Relaxed);
            c.messages.fetch_add(take as u64, Ordering::Relaxed);
            c.bytes
                .fetch_add(packet.data.len() as u64, Ordering::Relaxed);
            c.attributed
                .fetch_add(u64::from(packet.process.is_some()), Ordering::Relaxed);
            let meta = PacketMeta {
                index,
                sec: packet.sec,
                nsec: packet.nsec,
                pkttype: packet.pkttype,
                family: packet.family,
                truncated: packet.truncated,
                big_endian: tally.big_endian,
            };
            if let Some(o) = output.as_deref_mut() {
                o.writer(reader)?.write_packets(&[packet.as_packet()])?;
                o.publish(shared);
            }
            if let Some(opts) = opts {
                records.clear();
                decode::decode_packet(&meta, &packet.data, genl, opts, &mut records);
                records.truncate(take);
                if packet.process.is_some() {
                    // A pcapng packet comment names one process for the whole packet.
                    for r in &mut records {
                        r.process.clone_from(&packet.process);
                    }
                }
                count += append_json_lines(&records, &mut text);
                if count >= BATCH_RECORDS {
                    shared.push(std::mem::take(&mut text), count);
                    count = 0;
                }
            }
        }
        if reached {
            break;
        }
    }
    shared.push(text, count);
    Ok(())
}

/// pcapng packets of other link types are counted, not decoded: say so once, at the end; and
/// that a file from a host of the other byte order was decoded in this host's.
fn note_skipped(shared: &Shared, reader: &super::pcapread::Reader) {
    if reader.foreign_order {
        lock(&shared.notes).push(format!(
            "{}: written on a host of the other byte order: its netlink messages are read in that order; summary attributes and extended ACKs are not shown, every attribute is under \"decoded\" (--json, -v)",
            reader.path()
        ));
    }
    if reader.skipped > 0 {
        lock(&shared.notes).push(format!(
            "{}: {} packets of interfaces whose link type is not NETLINK (253) skipped",
            reader.path(),
            reader.skipped
        ));
    }
}
