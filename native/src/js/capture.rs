//! The capture exports (openCapture, readPcap) and their objects: options in, the
//! `CaptureSession` class, batches and counters out. The capture itself is capture/'s plain Rust.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use super::task::{sync, Job};
use super::types::{netns_of, Target};
use crate::attribution::proc::{ProcEngine, Selection};
use crate::attribution::{self, bpf::Hook, Attribution};
use crate::capture::decode::{GenlNames, Options as DecodeOptions};
use crate::capture::pcapio::{Interface, Rotation};
use crate::capture::ring::{Ring, RingConfig};
use crate::capture::session::{self, Counters, LiveAttribution, NetnsWatch, Session, Settings};
use crate::capture::{genl, names, pcapio, queue};
use crate::netlink::error::{errno_name, guarded, Error, Result};
use crate::netlink::netns;

#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// The nlmon link (live capture).
    pub ifindex: Option<u32>,
    /// Write pcap here; "-" is standard output.
    pub write: Option<String>,
    /// Replace an existing file.
    pub force: Option<bool>,
    /// Write pcapng whatever the -w name (a name ending in .pcapng is pcapng anyway).
    pub pcapng: Option<bool>,
    /// Name the process behind each packet with the eBPF program (live; default true).
    pub bpf: Option<bool>,
    /// Add each named process's argv (`process.cmdline`), read from /proc.
    pub cmdline: Option<bool>,
    /// Name processes at all (default true); false: records carry none, and nothing is loaded.
    pub processes: Option<bool>,
    /// Keep only the packets of this process and its descendants, later ones included.
    pub pid: Option<u32>,
    /// With `pid`: its descendants only, not the process itself (`trace --only-cmd` gives its own pid).
    pub descendants_only: Option<bool>,
    /// Keep only the packets of processes with this command name.
    pub comm: Option<String>,
    /// Produce decoded records for next().
    pub decode: Option<bool>,
    /// Add each message's bytes in hex.
    pub hex: Option<bool>,
    /// Add each message's whole attribute tree from the YNL specs (`decoded`); default true.
    pub tree: Option<bool>,
    /// Netlink family names or numbers to keep ("route", "generic", "16", …).
    pub families: Option<Vec<String>>,
    /// Stop after this many messages.
    pub count: Option<f64>,
    /// Ring size in MiB (1 MiB blocks); default 64. A JS number, so that 2^32 is refused, not wrapped.
    pub buffer_mib: Option<f64>,
    /// Cap of the userspace queue between the ring and the file, in MiB; default ¼ of
    /// MemAvailable, at most 1 GiB.
    pub queue_mib: Option<f64>,
    /// -C: start a new file before one would exceed this many MB (1,000,000 bytes, as tcpdump).
    pub rotate_mb: Option<f64>,
    /// -G: start a new file every this many seconds; the -w name goes through strftime.
    pub rotate_seconds: Option<f64>,
    /// -W: keep at most this many files (the oldest is removed).
    pub rotate_files: Option<f64>,
}

#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct CaptureStats {
    /// Packets (skbs) kept.
    pub packets: f64,
    /// Netlink messages kept.
    pub messages: f64,
    pub bytes: f64,
    /// Packets the socket saw (PACKET_STATISTICS tp_packets, drops included).
    pub kernel_packets: f64,
    /// Packets the kernel dropped because the ring was full (tp_drops).
    pub kernel_drops: f64,
    /// Decoded messages not delivered because the decoder or JS fell behind.
    pub user_drops: f64,
    /// Packets written to the pcap file (all files of a rotation together).
    pub written: f64,
    /// pcap files opened: 1 with -w, more with -C/-G or SIGHUP.
    pub files: f64,
    /// Packets dropped because the queue between the ring and the file was full.
    pub queue_drops: f64,
    /// Most bytes the queue held at once.
    pub queue_peak_bytes: f64,
    /// The queue's cap in bytes.
    pub queue_limit_bytes: f64,
    /// Packets whose process is known.
    pub attributed: f64,
    /// Events that could not be recorded: eBPF sends (its ring buffer full, a batch past its bound), proc connector events (dropped).
    pub attribution_lost: f64,
}

/// How a live capture names the process behind each packet.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct AttributionInfo {
    /// "bpf" when the eBPF program is attached, "proc" for the /proc fallback, "none" when
    /// processes are not named (`processes: false`).
    pub method: String,
    /// Where the program is attached: "fentry" (every send, before the tap sees it) or
    /// "consume_skb" (requests only, after the kernel handled them).
    pub hook: Option<String>,
    /// Why the eBPF program is not used (--no-bpf, no privilege, no BTF…).
    pub reason: Option<String>,
    /// Why the /proc fallback has no proc connector events (processes that exit before their
    /// packet is written are then missed); None when it has them or is not used.
    pub events: Option<String>,
}

#[napi(object)]
pub struct CaptureBatch {
    /// Decoded records, one JSON object per line.
    pub records: String,
    pub count: u32,
    /// The capture has ended and every record has been delivered.
    pub done: bool,
    pub stats: CaptureStats,
    /// Set with done when the capture ended on an error (the JSON error message).
    pub error: Option<String>,
}

#[napi(object)]
pub struct TypeCount {
    pub family: String,
    pub type_name: String,
    pub messages: f64,
}

fn stats_of(c: Counters) -> CaptureStats {
    CaptureStats {
        packets: c.packets as f64,
        messages: c.messages as f64,
        bytes: c.bytes as f64,
        kernel_packets: c.kernel_packets as f64,
        kernel_drops: c.kernel_drops as f64,
        user_drops: c.user_drops as f64,
        written: c.written as f64,
        files: c.files as f64,
        queue_drops: c.queue_drops as f64,
        queue_peak_bytes: c.queue_peak as f64,
        queue_limit_bytes: c.queue_limit as f64,
        attributed: c.attributed as f64,
        attribution_lost: c.attribution_lost as f64,
    }
}

const MIB: u64 = 1 << 20;

impl TryFrom<CaptureOptions> for Settings {
    type Error = Error;
    fn try_from(o: CaptureOptions) -> Result<Settings> {
        Settings::from_options(o, queue::mem_available())
    }
}

/// Whole MiB from 1 to `max`, or an argument error naming `what`.
fn whole_mib(what: &str, value: f64, max: f64) -> Result<u64> {
    if value.fract() != 0.0 || !(1.0..=max).contains(&value) {
        return Err(Error::Arg(format!(
            "{what} must be 1 to {max} MiB, got {value}"
        )));
    }
    Ok(value as u64)
}

/// A whole number from 1 to `max` for the flag `flag`, or an argument error naming it.
fn whole(flag: &str, value: Option<f64>, max: f64) -> Result<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (1.0..=max).contains(&v) => Ok(Some(v as u64)),
        Some(v) => Err(Error::Arg(format!(
            "{flag} must be a whole number from 1 to {max}, got {v}"
        ))),
    }
}

/// -C/-G/-W: their ranges, and what they go with. The one owner of these rules.
fn rotation_of(o: &CaptureOptions) -> Result<Rotation> {
    let rotation = Rotation {
        // Up to 1 TB per file; MB as tcpdump counts them.
        max_bytes: whole("-C", o.rotate_mb, 1_000_000.0)?.map(|mb| mb * 1_000_000),
        // Up to a year.
        seconds: whole("-G", o.rotate_seconds, 31_536_000.0)?,
        max_files: whole("-W", o.rotate_files, 1_000_000.0)?.map(|n| n as u32),
    };
    let any = rotation.is_some() || rotation.max_files.is_some();
    match o.write.as_deref() {
        _ if !any => {}
        None => {
            return Err(Error::Arg(
                "-C, -G and -W rotate the -w file: they need -w FILE".into(),
            ))
        }
        Some("-") => {
            return Err(Error::Arg(
                "-C, -G and -W rotate files: standard output (-w -) cannot be rotated".into(),
            ))
        }
        Some(_) if !rotation.is_some() => {
            return Err(Error::Arg(
                "-W keeps the last N files of a rotation: it needs -C or -G".into(),
            ))
        }
        Some(_) => {}
    }
    Ok(rotation)
}

trait FromOptions: Sized {
    fn from_options(o: CaptureOptions, available: Option<u64>) -> Result<Self>;
}

impl FromOptions for Settings {
    /// The one owner of the capture options' rules. `available` is MemAvailable (bytes): the
    /// ring and the queue's cap must fit in it, so that a capture is refused at once rather than
    /// killed by the OOM killer in the middle of a burst (None: not known, not checked).
    fn from_options(o: CaptureOptions, available: Option<u64>) -> Result<Settings> {
        let rotation = rotation_of(&o)?;
        let pcapng = o.pcapng.unwrap_or(false);
        if pcapng && o.write.is_none() {
            return Err(Error::Arg(
                "--pcapng is the format of the -w output: it needs -w FILE (or -w -)".into(),
            ));
        }
        let families = match o.families {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|name| {
                        names::family_by_name(name)
                            .ok_or_else(|| Error::Arg(format!("unknown netlink family {name:?}")))
                    })
                    .collect::<Result<Vec<u16>>>()?,
            ),
        };
        let count = match o.count {
            None => None,
            Some(n) if n.fract() == 0.0 && (1.0..=9.0e15).contains(&n) => Some(n as u64),
            Some(n) => {
                return Err(Error::Arg(format!(
                    "count must be a whole number ≥ 1, got {n}"
                )))
            }
        };
        let mut ring = RingConfig::default();
        if let Some(mib) = o.buffer_mib {
            ring.block_count = whole_mib("buffer size", mib, 4096.0)? as u32;
        }
        let ring_bytes = u64::from(ring.block_count) * u64::from(ring.block_size);
        let avail_mib = |a: u64| a / MIB;
        if let Some(a) = available {
            if ring_bytes > a {
                return Err(Error::Arg(format!(
                    "a {} MiB kernel ring (--buffer-size) is more than this machine can hold: {} MiB available (MemAvailable)",
                    ring_bytes / MIB,
                    avail_mib(a)
                )));
            }
        }
        let queue_bytes = match (o.queue_mib, available) {
            (Some(mib), _) => {
                let bytes = whole_mib("queue size", mib, 1_048_576.0)? * MIB;
                if let Some(a) = available {
                    if ring_bytes + bytes > a {
                        return Err(Error::Arg(format!(
                            "a {} MiB queue (--queue-size) and the {} MiB kernel ring are more than this machine can hold: {} MiB available (MemAvailable)",
                            bytes / MIB,
                            ring_bytes / MIB,
                            avail_mib(a)
                        )));
                    }
                }
                bytes
            }
            (None, Some(a)) => queue::default_cap(a, ring_bytes),
            // MemAvailable unknown (no /proc): a cap that is modest anywhere.
            (None, None) => 256 * MIB,
        };
        Ok(Settings {
            write: o.write,
            force: o.force.unwrap_or(false),
            rotation,
            pcapng,
            // Filled by open_capture, which knows the link and its namespace.
            interface: Interface::default(),
            decode: o.decode.unwrap_or(true),
            decode_options: DecodeOptions {
                hex: o.hex.unwrap_or(false),
                tree: o.tree.unwrap_or(true),
            },
            families,
            count,
            ring,
            queue_bytes,
        })
    }
}

/// A running capture (live or from a file).
#[napi]
pub struct CaptureSession {
    inner: Arc<Session>,
    attribution: AttributionInfo,
}

impl CaptureSession {
    pub fn new(session: Session) -> Self {
        Self::with_attribution(session, AttributionInfo::default())
    }

    fn with_attribution(session: Session, attribution: AttributionInfo) -> Self {
        CaptureSession {
            inner: Arc::new(session),
            attribution,
        }
    }
}

#[napi]
impl CaptureSession {
    /// The records decoded since the last call, waiting up to timeoutMs for some.
    #[napi(ts_return_type = "Promise<CaptureBatch>", catch_unwind)]
    pub fn next(&self, timeout_ms: u32) -> AsyncTask<Job<CaptureBatch>> {
        let inner = Arc::clone(&self.inner);
        AsyncTask::new(Job::new(move || {
            let next = inner
                .shared
                .next(Duration::from_millis(u64::from(timeout_ms)));
            if next.done {
                inner.join();
            }
            Ok(CaptureBatch {
                records: next.records,
                count: next.count as u32,
                done: next.done,
                stats: stats_of(next.counters),
                error: next.error.map(|e| e.to_json()),
            })
        }))
    }

    /// Ask the capture to end: the reader drains what the ring holds, flushes the file and
    /// finishes; next() then reports done.
    #[napi(catch_unwind)]
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// Start a new pcap file now (SIGHUP), when -C or -G is set; otherwise nothing happens.
    #[napi(catch_unwind)]
    pub fn rotate(&self) {
        self.inner.rotate();
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> CaptureStats {
        stats_of(self.inner.shared.counters())
    }

    /// How this capture names processes (live; a file's processes come from its pcapng comments).
    #[napi(catch_unwind)]
    pub fn attribution(&self) -> AttributionInfo {
        self.attribution.clone()
    }

    /// Notes for stderr (a file's packets of other link types, skipped), complete once done.
    #[napi(catch_unwind)]
    pub fn notes(&self) -> Vec<String> {
        self.inner.notes()
    }

    /// Messages per family and type (complete once next() has reported done).
    #[napi(catch_unwind)]
    pub fn summary(&self) -> Vec<TypeCount> {
        self.inner
            .shared
            .summary()
            .into_iter()
            .map(|(family, type_name, n)| TypeCount {
                family,
                type_name,
                messages: n as f64,
            })
            .collect()
    }
}

/// Check capture options (families, count, ring size) the way openCapture/readPcap will, without
/// opening anything: the CLI refuses bad values before it creates a capture link, with the rules
/// kept here, in one place.
#[napi(catch_unwind)]
pub fn check_capture_options(options: CaptureOptions) -> napi::Result<()> {
    sync(|| Settings::try_from(options).map(drop))
}

/// Start a live capture on an nlmon link (UP already): the pcap file is opened first, then, in
/// the target namespace, generic netlink family names are dumped and the TPACKET_V3 ring is
/// bound to the link. Traffic is captured from the bind on.
#[napi(ts_return_type = "Promise<CaptureSession>", catch_unwind)]
pub fn open_capture(
    options: CaptureOptions,
    target: Option<Target>,
) -> AsyncTask<Job<CaptureSession>> {
    let netns = netns_of(target);
    let wanted = Wanted {
        processes: options.processes.unwrap_or(true),
        bpf: options.bpf.unwrap_or(true),
        cmdline: options.cmdline.unwrap_or(false),
        selection: Selection {
            pid: options
                .pid
                .map(|p| (p, !options.descendants_only.unwrap_or(false))),
            comm: options.comm.clone(),
        },
    };
    let parsed = guarded(|| {
        let ifindex = options
            .ifindex
            .ok_or_else(|| Error::Arg("openCapture needs an ifindex".into()))?;
        Ok((ifindex, Settings::try_from(options)?))
    });
    AsyncTask::new(Job::new(move || {
        let (ifindex, mut settings) = parsed?;
        // Refuse an existing file before touching the network namespace (a FIFO is written into: pcapio).
        if let Some(path) = settings.write.as_deref().filter(|p| *p != "-") {
            let first = pcapio::rotated_name(&pcapio::rotation_base(path, &settings.rotation)?, 0);
            if !settings.force
                && std::fs::symlink_metadata(&first).is_ok()
                && !pcapio::is_fifo(&first)
            {
                return Err(Error::Errno {
                    errno: libc::EEXIST,
                    op: "open(pcap)",
                    extack: None,
                    extack_offset: None,
                });
            }
        }
        // What the --netns path names now: the capture ends when it names something else.
        let watch = netns
            .as_deref()
            .and_then(|ns| NetnsWatch::new(&netns::netns_path(ns)));
        let ring_cfg = settings.ring;
        let ns_name = netns.clone();
        let (ring, genl, interface, netns_inode) = netns::run_in(netns.as_deref(), move || {
            // Best effort: without the names, generic families show as GENL_ID_<n>.
            let genl = genl::resolve().unwrap_or_else(|_| GenlNames::new());
            let ring = Ring::open(ifindex, ring_cfg)?;
            let inode = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino());
            // opened here, it lists this namespace's sockets however often it is reread
            let table = std::fs::File::open("/proc/thread-self/net/netlink").ok();
            let interface = interface_of(ifindex, ns_name.as_deref());
            Ok((ring, genl, interface, (inode, table)))
        })?;
        settings.interface = interface;
        let (attribution, info) = start_attribution(&wanted, netns_inode)?;
        let session = session::start_live(ring, genl, settings, watch, attribution)?;
        Ok(CaptureSession::with_attribution(session, info))
    }))
}

/// What the capture was asked to name and keep.
struct Wanted {
    processes: bool,
    bpf: bool,
    cmdline: bool,
    selection: Selection,
}

/// The attribution for a capture of namespace `netns_inode` (with its /proc/net/netlink): eBPF
/// when it loads, else the /proc fallback; the fallback's engine runs either way for `--pid`
/// and `--cmdline`. Fails only when `--pid` names no process; otherwise a capture that cannot
/// name processes the best way names them the next best way and says why.
fn start_attribution(
    wanted: &Wanted,
    (netns_inode, netlink_table): (std::io::Result<u64>, Option<std::fs::File>),
) -> Result<(Option<LiveAttribution>, AttributionInfo)> {
    let mut info = AttributionInfo {
        method: "none".into(),
        ..AttributionInfo::default()
    };
    if !wanted.processes {
        return Ok((None, info));
    }
    let netns = netns_inode.ok().and_then(|i| u32::try_from(i).ok());
    let bpf = match (wanted.bpf, netns) {
        (false, _) => Err("--no-bpf".to_string()),
        (true, None) => Err("the captured network namespace's inode could not be read".to_string()),
        (true, Some(netns)) => Attribution::start(netns).map_err(|e| attribution_failure(&e)),
    };
    // The fallback costs a thread and a /proc scan: with eBPF it is only needed for the tree
    // (--pid), argv read at exec (--cmdline), and on the consume_skb hook, whose request events
    // come after the capture saw the request (it names what they could not).
    let late_events = matches!(&bpf, Ok(engine) if engine.hook() == Hook::ConsumeSkb);
    let proc_needed =
        bpf.is_err() || late_events || wanted.selection.pid.is_some() || wanted.cmdline;
    let proc = ProcEngine::start(
        netlink_table,
        &wanted.selection,
        wanted.cmdline,
        proc_needed,
    )?;
    match &bpf {
        Ok(engine) => {
            info.method = "bpf".into();
            info.hook = Some(
                match engine.hook() {
                    Hook::Fentry => "fentry",
                    Hook::ConsumeSkb => "consume_skb",
                }
                .into(),
            );
        }
        Err(why) => {
            info.method = "proc".into();
            info.reason = Some(why.clone());
        }
    }
    if proc_needed {
        info.events = proc.no_events.clone();
    }
    let live = LiveAttribution {
        bpf: bpf.ok(),
        proc,
        selecting: !wanted.selection.is_empty(),
        realtime_offset_ns: attribution::clock::realtime_offset_ns(),
        cmdline: wanted.cmdline,
    };
    Ok((Some(live), info))
}

/// One line on why the eBPF program could not start, for stderr.
fn attribution_failure(e: &Error) -> String {
    match e {
        Error::Errno {
            errno, op, extack, ..
        } => {
            let why = match *errno {
                libc::EPERM | libc::EACCES => {
                    "no privilege for BPF (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)".to_string()
                }
                libc::ENOENT => "the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string(),
                libc::EOPNOTSUPP => {
                    "nlmonctl runs in a pid namespace other than the initial one".to_string()
                }
                n => errno_name(n),
            };
            match extack {
                Some(detail) => format!("{op}: {why} ({detail})"),
                None => format!("{op}: {why}"),
            }
        }
        other => other.to_json(),
    }
}

/// What a pcapng file names the capture's interface: the nlmon link's name (`if_name`) and, in
/// `if_description`, its network namespace as the capture was told it (`--netns`, a name or a
/// path) and as the kernel names it (`net:[inode]`, what `/proc/PID/ns/net` links to). Runs in
/// the capture's namespace; best effort (what cannot be read is left out).
fn interface_of(ifindex: u32, netns: Option<&str>) -> Interface {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes, as if_indextoname requires.
    let named = unsafe { libc::if_indextoname(ifindex, buf.as_mut_ptr().cast()) };
    let name = (!named.is_null())
        .then(|| std::ffi::CStr::from_bytes_until_nul(&buf).ok())
        .flatten()
        .map(|c| c.to_string_lossy().into_owned());
    let kernel = std::fs::read_link("/proc/thread-self/ns/net")
        .ok()
        .map(|l| l.to_string_lossy().into_owned());
    let description = match (netns, kernel) {
        (Some(ns), Some(k)) => Some(format!("netns {ns} ({k})")),
        (Some(ns), None) => Some(format!("netns {ns}")),
        (None, Some(k)) => Some(format!("netns {k}")),
        (None, None) => None,
    };
    Interface { name, description }
}

/// Decode a pcap file (LINKTYPE_NETLINK, ours or tcpdump's). Generic netlink ids are named from
/// the file's own nlctrl traffic, then from this namespace's families.
#[napi(ts_return_type = "Promise<CaptureSession>", catch_unwind)]
pub fn read_pcap(path: String, options: CaptureOptions) -> AsyncTask<Job<CaptureSession>> {
    let parsed = guarded(|| Settings::try_from(options));
    AsyncTask::new(Job::new(move || {
        let settings = parsed?;
        // Never this machine's ids: a file's generic netlink names come from its own nlctrl
        // traffic (ids differ between machines and boots).
        let session = session::start_offline(&path, GenlNames::offline(), settings)?;
        Ok(CaptureSession::new(session))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn opts(buffer: Option<f64>, queue: Option<f64>) -> CaptureOptions {
        CaptureOptions {
            buffer_mib: buffer,
            queue_mib: queue,
            ..CaptureOptions::default()
        }
    }

    #[test]
    fn the_queue_defaults_to_a_quarter_of_available_memory_at_most_1_gib() {
        let s = Settings::from_options(opts(None, None), Some(GIB));
        assert_eq!(s.map(|s| s.queue_bytes).ok(), Some(GIB / 4));
        let s = Settings::from_options(opts(None, None), Some(64 * GIB));
        assert_eq!(s.map(|s| s.queue_bytes).ok(), Some(GIB));
        let s = Settings::from_options(opts(None, Some(100.0)), Some(GIB));
        assert_eq!(s.map(|s| s.queue_bytes).ok(), Some(100 * MIB));
    }

    #[test]
    fn a_ring_or_queue_the_machine_cannot_hold_is_refused() {
        let refused = |o, a| matches!(Settings::from_options(o, Some(a)), Err(Error::Arg(_)));
        // 4 GiB ring, 1 GiB available
        assert!(refused(opts(Some(4096.0), None), GIB));
        assert!(!refused(opts(Some(512.0), None), GIB));
        // ring + queue must fit together
        assert!(refused(opts(Some(512.0), Some(600.0)), GIB));
        assert!(!refused(opts(Some(64.0), Some(900.0)), GIB));
        // shapes
        assert!(refused(opts(None, Some(0.0)), 64 * GIB));
        assert!(refused(opts(None, Some(1.5)), 64 * GIB));
        assert!(refused(opts(Some(4097.0), None), 64 * GIB));
        let msg = Settings::from_options(opts(Some(4096.0), None), Some(GIB)).err();
        assert!(msg.is_some_and(|e| e.to_json().contains("1024 MiB available")));
    }
}
