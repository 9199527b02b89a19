//! pcap and pcapng files with `LINKTYPE_NETLINK` (253): writing, through `pcap-file` (reading is
//! pcapread.rs).
//!
//! pcapng (`--pcapng`, or a -w name ending in `.pcapng`) adds what pcap cannot hold: an interface
//! block naming the nlmon link and its network namespace, and, on each packet whose process is
//! known, that process as the packet's comment (process.rs owns the comment's format).
//!
//! Each record is the 16-byte cooked header — packet type, ARPHRD type (824), address length
//! (0), 8 address bytes, protocol (the netlink family), all big-endian — then the netlink
//! messages in host byte order.
//!
//! Captures carry secrets, so a file is created mode 0600 with `O_CREAT|O_EXCL|O_NOFOLLOW`; an
//! existing one is only replaced with `force` (`O_TRUNC|O_NOFOLLOW`, then chmod 0600).

use byteorder_slice::NativeEndian;
use pcap_file::pcap::{PcapHeader, RawPcapPacket};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgBlock;
use pcap_file::{DataLink, Endianness, TsResolution};
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

use super::process::Process;
use crate::netlink::error::{Error, Result};

pub const ARPHRD_NETLINK: u16 = 824;
pub const COOKED_LEN: usize = 16;
pub const SNAPLEN: u32 = 262_144;

/// The 16-byte LINKTYPE_NETLINK pseudo-header.
pub fn cooked_header(pkttype: u16, family: u16) -> [u8; COOKED_LEN] {
    let mut h = [0u8; COOKED_LEN];
    h[0..2].copy_from_slice(&pkttype.to_be_bytes());
    h[2..4].copy_from_slice(&ARPHRD_NETLINK.to_be_bytes());
    // address length 0, 8 zero address bytes
    h[14..16].copy_from_slice(&family.to_be_bytes());
    h
}

/// A file descriptor that is written with blocking semantics even if someone (Node, for fd 1)
/// made it non-blocking: EAGAIN waits in poll().
pub struct BlockingFd(File);

impl Write for BlockingFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            match self.0.write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl BlockingFd {
    fn wait_writable(&self) {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 1000) };
    }
}

/// Open the output: `-` is standard output (a duplicate of fd 1).
pub fn open_output(path: &str, force: bool) -> Result<BlockingFd> {
    if path == "-" {
        // SAFETY: dup of fd 1; the new fd is ours to own.
        let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
        if fd < 0 {
            return Err(Error::io(&io::Error::last_os_error(), "dup(stdout)"));
        }
        // SAFETY: fd is a fresh descriptor.
        return Ok(BlockingFd(unsafe { File::from_raw_fd(fd) }));
    }
    if is_fifo(path) {
        return open_fifo(path);
    }
    let mut options = OpenOptions::new();
    options
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let file = options
        .open(path)
        .map_err(|e| Error::io(&e, "open(pcap)"))?;
    let regular = file.metadata().is_ok_and(|m| m.file_type().is_file());
    if force && regular {
        // An existing file keeps its mode on O_TRUNC: a capture is private whatever it replaced.
        // Only a regular file, though: `-w /dev/null --force` must not chmod /dev/null.
        // SAFETY: valid fd.
        if unsafe { libc::fchmod(file.as_raw_fd(), 0o600) } != 0 {
            return Err(Error::io(&io::Error::last_os_error(), "fchmod(pcap)"));
        }
    }
    Ok(BlockingFd(file))
}

/// An existing FIFO: written into as it is (open_output), never refused as an existing file.
pub fn is_fifo(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// An existing FIFO (Wireshark's extcap `--fifo`, a `mkfifo`) is written into as it is: nothing to
/// create, truncate or chmod, and no `force` needed. The open waits for a reader, like any FIFO's.
fn open_fifo(path: &str) -> Result<BlockingFd> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(&e, "open(pcap)"))?;
    if !file.metadata().is_ok_and(|m| m.file_type().is_fifo()) {
        // Replaced by something else between the check and the open: written to by no one.
        return Err(Error::io(
            &io::Error::from_raw_os_error(libc::EEXIST),
            "open(pcap)",
        ));
    }
    Ok(BlockingFd(file))
}

/// One packet to write: where its bytes lie (the ring, or a file just read) is the caller's.
pub struct Packet<'a> {
    pub sec: u32,
    pub nsec: u32,
    pub pkttype: u16,
    pub family: u16,
    /// Length on the wire (the cooked header not included).
    pub orig_len: u32,
    pub data: &'a [u8],
    /// Who is behind the packet, when known: pcapng writes it as the packet's comment (pcap
    /// has no place for it).
    pub process: Option<&'a Process>,
    /// pcapng: other packet comments, written after the process's (`-r IN -w OUT` carries a
    /// file's notes over). Live packets have none.
    pub notes: &'a [String],
}

/// What a pcapng file says of the interface its packets were captured on (`if_name`,
/// `if_description`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// The file format written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// pcap, nanosecond timestamps: what tcpdump -w writes (byte for byte as before pcapng came).
    Pcap,
    /// pcapng, one section, one interface (this one), a comment per attributed packet.
    Pcapng(Interface),
}

impl Format {
    /// The one rule: pcapng with `--pcapng`, or when the -w name ends in `.pcapng` (any case);
    /// pcap otherwise (`-w -` too, unless `--pcapng`).
    pub fn of(path: &str, pcapng: bool, interface: Interface) -> Format {
        let by_name = path
            .rsplit_once('.')
            .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("pcapng"));
        if pcapng || by_name {
            Format::Pcapng(interface)
        } else {
            Format::Pcap
        }
    }
}

/// The application named in a pcapng section header (`shb_userappl`).
pub const USER_APPLICATION: &str = concat!("nlmonctl ", env!("CARGO_PKG_VERSION"));
/// pcapng `if_tsresol`: 10^-9 s, the ring's (and pcap-file's EPB writer's) nanoseconds.
const TSRESOL_NS: u8 = 9;

/// At most this many iovecs per writev (IOV_MAX on Linux).
const IOV_MAX: usize = 1024;

/// A pcap file being written. pcap-file encodes the file header and each record header; the
/// packet bytes go from where they lie (the ring) to the file with writev, never copied in
/// userspace: in the guest, copying every byte twice cost more CPU than tcpdump's whole run.
pub struct Writer {
    out: BlockingFd,
    /// pcapng: each packet is encoded whole (pcap-file's EPB takes its data in one piece, and
    /// the comment follows it), one copy more than pcap's writev of the ring's bytes.
    pcapng: bool,
    /// pcap: record header + cooked header of each packet of the batch being written, 32 bytes
    /// each. pcapng: the batch's whole Enhanced Packet Blocks.
    headers: Vec<u8>,
    /// pcapng: one packet's cooked header and data, put together for its block.
    scratch: Vec<u8>,
    /// Bytes of whole records (and the file header) written so far: where the file ends.
    offset: u64,
    /// Whole records written so far.
    records: u64,
}

fn pcap_err(e: pcap_file::PcapError, op: &'static str) -> Error {
    match e {
        pcap_file::PcapError::IoError(io) => Error::io(&io, op),
        other => Error::proto(op, other.to_string()),
    }
}

impl Writer {
    /// A pcap file.
    pub fn new(out: BlockingFd) -> Result<Writer> {
        Writer::with_format(out, &Format::Pcap)
    }

    pub fn with_format(mut out: BlockingFd, format: &Format) -> Result<Writer> {
        let bytes = match format {
            Format::Pcap => pcap_header()?,
            Format::Pcapng(interface) => pcapng_header(interface)?,
        };
        // The file header goes out at once: even an empty capture is a valid file.
        out.write_all(&bytes)
            .map_err(|e| Error::io(&e, "write(pcap)"))?;
        Ok(Writer {
            out,
            pcapng: matches!(format, Format::Pcapng(_)),
            headers: Vec::with_capacity(32 * 4096),
            scratch: Vec::new(),
            offset: bytes.len() as u64,
            records: 0,
        })
    }

    /// Records written whole so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes of the file so far (header and whole records).
    pub fn size(&self) -> u64 {
        self.offset
    }

    /// The bytes `p` will take in the file: record header, cooked header, data up to the snap
    /// length (pcapng: its block, comment included, as pcap-file encodes it).
    pub fn record_len(&mut self, p: &Packet<'_>) -> Result<u64> {
        if self.pcapng {
            let mut block = Vec::new();
            return encode_epb(p, &mut self.scratch, &mut block);
        }
        Ok((16 + COOKED_LEN + p.data.len().min(SNAPLEN as usize - COOKED_LEN)) as u64)
    }

    /// After a failed write (ENOSPC, EIO…), cut a regular file back to its last whole record:
    /// a reader (tshark, capinfos, `capture -r`) then sees every packet written, and no torn one.
    /// A pipe cannot be cut; its reader sees the torn record end the stream.
    fn cut_to_last_record(&mut self) {
        let regular = self.out.0.metadata().is_ok_and(|m| m.file_type().is_file());
        if regular {
            let _ = self.out.0.set_len(self.offset);
        }
    }

    /// Append the packets, in order, with as few writev calls as IOV_MAX allows. A packet
    /// longer than the snap length (256 KiB, tcpdump's default too) is cut to it.
    pub fn write_packets(&mut self, packets: &[Packet<'_>]) -> Result<()> {
        self.headers.clear();
        let max_data = SNAPLEN as usize - COOKED_LEN;
        let mut sizes: Vec<u64> = Vec::with_capacity(packets.len());
        if self.pcapng {
            for p in packets {
                sizes.push(encode_epb(p, &mut self.scratch, &mut self.headers)?);
            }
        } else {
            for p in packets {
                let kept = p.data.len().min(max_data);
                let record = RawPcapPacket {
                    ts_sec: p.sec,
                    ts_frac: p.nsec,
                    incl_len: (COOKED_LEN + kept) as u32,
                    // Clamped too: pcap-file (and so `capture -r`) refuses an original length
                    // above the file's snap length, and libpcap a captured one.
                    orig_len: p
                        .orig_len
                        .max(kept as u32)
                        .saturating_add(COOKED_LEN as u32)
                        .min(SNAPLEN),
                    data: Cow::Borrowed(&[]),
                };
                record
                    .write_to::<_, NativeEndian>(&mut self.headers)
                    .map_err(|e| pcap_err(e, "write(pcap)"))?;
                self.headers
                    .extend_from_slice(&cooked_header(p.pkttype, p.family));
                sizes.push((16 + COOKED_LEN + kept) as u64);
            }
        }
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * packets.len());
        if self.pcapng {
            // Blocks are whole in `headers`: a few large slices.
            slices.extend(self.headers.chunks(1 << 20).map(IoSlice::new));
        } else {
            for (p, head) in packets.iter().zip(self.headers.chunks_exact(32)) {
                slices.push(IoSlice::new(head));
                slices.push(IoSlice::new(&p.data[..p.data.len().min(max_data)]));
            }
        }
        let (records, bytes, error) = write_records(&mut self.out, &mut slices, &sizes);
        self.records += records;
        self.offset += bytes;
        if let Some(e) = error {
            self.cut_to_last_record();
            return Err(Error::io(&e, "write(pcap)"));
        }
        Ok(())
    }
}

/// The 24-byte pcap file header.
fn pcap_header() -> Result<Vec<u8>> {
    let header = PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: SNAPLEN,
        datalink: DataLink::NETLINK,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::native(),
    };
    let mut bytes = Vec::with_capacity(24);
    header
        .write_to(&mut bytes)
        .map_err(|e| pcap_err(e, "write(pcap)"))?;
    Ok(bytes)
}

/// A pcapng file's start: the Section Header Block naming nlmonctl, then the one Interface
/// Description Block (LINKTYPE_NETLINK, the snap length, nanosecond timestamps, the link's name
/// and its namespace), in this host's byte order.
fn pcapng_header(interface: &Interface) -> Result<Vec<u8>> {
    let section = SectionHeaderBlock {
        endianness: Endianness::native(),
        options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
            USER_APPLICATION,
        ))],
        ..SectionHeaderBlock::default()
    };
    let mut options = Vec::new();
    if let Some(name) = &interface.name {
        options.push(InterfaceDescriptionOption::IfName(Cow::Borrowed(name)));
    }
    if let Some(description) = &interface.description {
        options.push(InterfaceDescriptionOption::IfDescription(Cow::Borrowed(
            description,
        )));
    }
    options.push(InterfaceDescriptionOption::IfTsResol(TSRESOL_NS));
    let idb = InterfaceDescriptionBlock {
        linktype: DataLink::NETLINK,
        snaplen: SNAPLEN,
        options,
    };
    let mut bytes = Vec::new();
    for block in [section.into_block(), idb.into_block()] {
        block
            .write_to::<NativeEndian, _>(&mut bytes)
            .map_err(|e| Error::io(&e, "write(pcap)"))?;
    }
    Ok(bytes)
}

/// A packet's Enhanced Packet Block, appended to `out` (`scratch` holds its data meanwhile).
/// Returns the block's length.
fn encode_epb(p: &Packet<'_>, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<u64> {
    let kept = p.data.len().min(SNAPLEN as usize - COOKED_LEN);
    scratch.clear();
    scratch.extend_from_slice(&cooked_header(p.pkttype, p.family));
    scratch.extend_from_slice(&p.data[..kept]);
    let options = p
        .process
        .map(|process| Cow::Owned(process.to_comment()))
        .into_iter()
        .chain(p.notes.iter().map(|n| Cow::Borrowed(n.as_str())))
        .map(EnhancedPacketOption::Comment)
        .collect();
    let block = EnhancedPacketBlock {
        interface_id: 0,
        timestamp: std::time::Duration::new(u64::from(p.sec), p.nsec),
        // The length on the wire as it was: pcapng has no per-file limit to clamp it to.
        original_len: p
            .orig_len
            .max(kept as u32)
            .saturating_add(COOKED_LEN as u32),
        data: Cow::Borrowed(scratch),
        options,
    };
    let len = block
        .into_block()
        .write_to::<NativeEndian, _>(out)
        .map_err(|e| Error::io(&e, "write(pcap)"))?;
    Ok(len as u64)
}

/// writev the slices (records in order; `sizes` says how many bytes each record takes) until
/// done or an error. Returns the whole records and their bytes written, and the error.
fn write_records(
    out: &mut BlockingFd,
    slices: &mut [IoSlice<'_>],
    sizes: &[u64],
) -> (u64, u64, Option<io::Error>) {
    let mut rest = slices;
    let mut done = 0u64;
    while !rest.is_empty() {
        let upto = rest.len().min(IOV_MAX);
        let n = match out.write_vectored(&rest[..upto]) {
            Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
            other => other,
        };
        match n {
            Ok(n) => {
                done += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) => {
                let (mut records, mut whole) = (0u64, 0u64);
                for size in sizes {
                    if whole + size > done {
                        break;
                    }
                    whole += size;
                    records += 1;
                }
                return (records, whole, Some(e));
            }
        }
    }
    (sizes.len() as u64, done, None)
}

/// tcpdump's -C/-G/-W: when to start a new file, and how many to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// -C: a file never grows past this many bytes, unless one record alone is larger.
    pub max_bytes: Option<u64>,
    /// -G: a new file every this many seconds; the -w name then goes through strftime(3).
    pub seconds: Option<u64>,
    /// -W: the files of this run kept at most; the oldest is removed when a new one is opened.
    pub max_files: Option<u32>,
}

impl Rotation {
    pub fn is_some(&self) -> bool {
        self.max_bytes.is_some() || self.seconds.is_some()
    }
}

extern "C" {
    // POSIX; the libc crate does not bind it.
    fn tzset();
}

/// strftime(3) on local time (as tcpdump -G names its files).
fn strftime_now(template: &str) -> Result<String> {
    let format = std::ffi::CString::new(template)
        .map_err(|_| Error::Arg("the -w name contains a NUL byte".into()))?;
    // SAFETY: time(NULL), then localtime_r into a zeroed tm it fills; tzset reads TZ first
    // (localtime_r alone need not).
    let tm = unsafe {
        tzset();
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is writable for its length; format is NUL-terminated.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm) };
    if n == 0 && !template.is_empty() {
        return Err(Error::Arg(format!(
            "the -w name {template:?} is empty or longer than 4095 bytes after strftime"
        )));
    }
    buf.truncate(n);
    String::from_utf8(buf).map_err(|_| Error::Arg("the -w name is not UTF-8 after strftime".into()))
}

/// The name of a file of a rotation: the -w name (through strftime with -G), then, for the 2nd,
/// 3rd… file of the same name, tcpdump's counter appended: FILE, FILE1, FILE2…
pub fn rotated_name(base: &str, seq: u32) -> String {
    if seq == 0 {
        base.to_string()
    } else {
        format!("{base}{seq}")
    }
}

/// The base name a rotation starts a file under now.
pub fn rotation_base(template: &str, rotation: &Rotation) -> Result<String> {
    if rotation.seconds.is_some() {
        strftime_now(template)
    } else {
        Ok(template.to_string())
    }
}

/// The capture's output: one pcap Writer, or a rotation of them. Every file is opened by
/// open_output (0600, O_EXCL|O_NOFOLLOW), starts with its own header and ends on a whole record:
/// a batch is split at the record that would take a file past -C, never inside one.
pub struct Output {
    writer: Writer,
    /// pcap or pcapng (then every file of a rotation starts with the same interface block).
    format: Format,
    template: String,
    force: bool,
    rotation: Rotation,
    /// When the current file was opened (for -G).
    opened: std::time::Instant,
    /// The current file's base name and counter (see rotated_name).
    base: String,
    seq: u32,
    /// The files of this run still on disk, oldest first (for -W).
    kept: std::collections::VecDeque<String>,
    files: u64,
    /// Records of the files before the current one.
    earlier: u64,
}

impl Output {
    pub fn open(path: &str, force: bool, rotation: Rotation, format: Format) -> Result<Output> {
        let base = rotation_base(path, &rotation)?;
        let name = rotated_name(&base, 0);
        let writer = Writer::with_format(open_output(&name, force)?, &format)?;
        let mut kept = std::collections::VecDeque::new();
        if path != "-" {
            kept.push_back(name);
        }
        Ok(Output {
            writer,
            format,
            template: path.to_string(),
            force,
            rotation,
            opened: std::time::Instant::now(),
            base,
            seq: 0,
            kept,
            files: 1,
            earlier: 0,
        })
    }

    /// Whole records written, all files together.
    pub fn records(&self) -> u64 {
        self.earlier + self.writer.records()
    }

    /// Files opened so far.
    pub fn files(&self) -> u64 {
        self.files
    }

    /// Whether -G says the current file is old enough to be replaced.
    pub fn due(&self) -> bool {
        self.rotation
            .seconds
            .is_some_and(|s| self.opened.elapsed() >= std::time::Duration::from_secs(s))
    }

    /// Close the current file and start the next one (then remove the oldest beyond -W). The
    /// current file is complete already: every write ends on a whole record.
    pub fn rotate(&mut self) -> Result<()> {
        if !self.rotation.is_some() {
            return Ok(());
        }
        let base = rotation_base(&self.template, &self.rotation)?;
        if base == self.base {
            self.seq += 1;
        } else {
            self.base = base;
            self.seq = 0;
        }
        let name = rotated_name(&self.base, self.seq);
        let next = Writer::with_format(open_output(&name, self.force)?, &self.format)?;
        let old = std::mem::replace(&mut self.writer, next);
        self.earlier += old.records();
        drop(old);
        self.files += 1;
        self.opened = std::time::Instant::now();
        self.kept.push_back(name);
        if let Some(max) = self.rotation.max_files {
            while self.kept.len() > max as usize {
                if let Some(oldest) = self.kept.pop_front() {
                    // Gone already (moved away by an operator) is fine: the bound is what matters.
                    if let Err(e) = std::fs::remove_file(&oldest) {
                        if e.kind() != io::ErrorKind::NotFound {
                            return Err(Error::io(&e, "unlink(pcap)"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Write the packets in order, starting a new file before any record that would take the
    /// current one past -C (a file with no record yet takes it anyway: it cannot be split).
    pub fn write_packets(&mut self, packets: &[Packet<'_>]) -> Result<()> {
        let Some(max) = self.rotation.max_bytes else {
            return self.writer.write_packets(packets);
        };
        let mut start = 0;
        let mut size = self.writer.size();
        for (i, p) in packets.iter().enumerate() {
            let len = self.writer.record_len(p)?;
            let empty = self.writer.records() == 0 && i == start;
            if size + len > max && !empty {
                self.writer.write_packets(&packets[start..i])?;
                self.rotate()?;
                start = i;
                size = self.writer.size();
            }
            size += len;
        }
        self.writer.write_packets(&packets[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::pcapread::Reader;
    use super::super::process::Process;
    use super::*;

    fn packet(
        sec: u32,
        nsec: u32,
        pkttype: u16,
        family: u16,
        orig_len: u32,
        data: &[u8],
    ) -> Packet<'_> {
        Packet {
            sec,
            nsec,
            pkttype,
            family,
            orig_len,
            data,
            process: None,
            notes: &[],
        }
    }

    fn temp_path(name: &str) -> String {
        let dir = std::env::temp_dir();
        format!(
            "{}/nlmonctl-test-{}-{name}",
            dir.display(),
            std::process::id()
        )
    }

    #[test]
    fn header_layout() {
        let h = cooked_header(4, 16);
        assert_eq!(h, [0, 4, 3, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]);
    }

    #[test]
    fn write_then_read_back() {
        let path = temp_path("rw.pcap");
        let _ = std::fs::remove_file(&path);
        let out = open_output(&path, false);
        let Ok(out) = out else { panic!("open") };
        let Ok(mut w) = Writer::new(out) else {
            panic!("writer")
        };
        let payload = [1u8, 2, 3, 4, 5];
        assert!(w
            .write_packets(&[packet(10, 20, 7, 0, 5, &payload)])
            .is_ok());
        assert!(w
            .write_packets(&[packet(11, 21, 6, 16, 5, &payload)])
            .is_ok());
        drop(w);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        let Ok(mut r) = Reader::open(&path) else {
            panic!("reader")
        };
        let Some(Ok(a)) = r.next_packet() else {
            panic!("first")
        };
        assert_eq!((a.sec, a.nsec, a.pkttype, a.family), (10, 20, 7, 0));
        assert_eq!(a.data, payload);
        let Some(Ok(b)) = r.next_packet() else {
            panic!("second")
        };
        assert_eq!((b.pkttype, b.family), (6, 16));
        assert!(r.next_packet().is_none());

        // exists: refused without force, replaced with it
        assert!(matches!(
            open_output(&path, false),
            Err(Error::Errno {
                errno: libc::EEXIST,
                ..
            })
        ));
        assert!(open_output(&path, true).is_ok());
        // anything but a regular file (here a fifo, think /dev/null) is written to, never chmod-ed
        let fifo = temp_path("fifo");
        let _ = std::fs::remove_file(&fifo);
        let Ok(c_fifo) = std::ffi::CString::new(fifo.clone()) else {
            panic!("path")
        };
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o644) }, 0);
        assert!(std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o644)).is_ok());
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
        assert!(reader.is_ok());
        assert!(open_output(&fifo, true).is_ok());
        let fifo_mode = std::fs::metadata(&fifo).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(fifo_mode.ok(), Some(0o644));
        drop(reader);
        let _ = std::fs::remove_file(&fifo);
        // a symlink is never followed
        let link = temp_path("link.pcap");
        let _ = std::fs::remove_file(&link);
        assert!(std::os::unix::fs::symlink(&path, &link).is_ok());
        assert!(matches!(
            open_output(&link, true),
            Err(Error::Errno {
                errno: libc::ELOOP,
                ..
            })
        ));
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn big_batches_and_oversized_packets() {
        let path = temp_path("batch.pcap");
        let _ = std::fs::remove_file(&path);
        let Ok(mut w) = open_output(&path, false).and_then(Writer::new) else {
            panic!("writer")
        };
        let payloads: Vec<Vec<u8>> = (0..1500u32)
            .map(|i| i.to_ne_bytes().repeat(1 + (i % 7) as usize))
            .collect();
        let huge = vec![7u8; SNAPLEN as usize + 100];
        let mut batch: Vec<Packet<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, d)| packet(i as u32, 1, 4, 0, d.len() as u32, d))
            .collect();
        batch.push(packet(9999, 0, 0, 16, huge.len() as u32, &huge));
        assert!(w.write_packets(&batch).is_ok());
        drop(w);
        let Ok(mut r) = Reader::open(&path) else {
            panic!("reader")
        };
        for (i, d) in payloads.iter().enumerate() {
            let Some(Ok(p)) = r.next_packet() else {
                panic!("packet {i}")
            };
            assert_eq!((p.sec, p.nsec, p.family, &p.data), (i as u64, 1, 0, d));
            assert_eq!(p.orig_len as usize, d.len());
        }
        let last = match r.next_packet() {
            Some(Ok(p)) => p,
            other => panic!(
                "the oversized packet: {:?}",
                other.map(|p| p.map(|p| p.data.len()))
            ),
        };
        assert_eq!(last.data.len(), SNAPLEN as usize - COOKED_LEN);
        assert_eq!(last.orig_len as usize, SNAPLEN as usize - COOKED_LEN);
        assert!(r.next_packet().is_none());
        let _ = std::fs::remove_file(&path);
    }

    /// -C splits a batch at a whole record: every file starts with a header, stays within its
    /// bound, and the files together hold every record in order; -W removes the oldest.
    #[test]
    fn rotation_by_size_keeps_the_last_files() {
        let dir = temp_path("rot");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir(&dir).is_ok());
        let base = format!("{dir}/nl.pcap");
        let rotation = Rotation {
            max_bytes: Some(24 + 3 * 40),
            seconds: None,
            max_files: Some(3),
        };
        let Ok(mut out) = Output::open(&base, false, rotation, Format::Pcap) else {
            panic!("open")
        };
        // 8 records of 40 bytes (16 + 16 + 8): 3 per file
        let payloads: Vec<[u8; 8]> = (0..8u8).map(|i| [i; 8]).collect();
        let batch: Vec<Packet<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, d)| packet(i as u32, 0, 4, 0, 8, d))
            .collect();
        assert!(out.write_packets(&batch[..2]).is_ok());
        assert!(out.write_packets(&batch[2..]).is_ok());
        assert_eq!((out.records(), out.files()), (8, 3));
        // SIGHUP: a new, empty file; the oldest beyond -W goes
        assert!(out.rotate().is_ok());
        drop(out);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        assert_eq!(names, ["nl.pcap1", "nl.pcap2", "nl.pcap3"]);
        let secs = |name: &str| {
            let Ok(mut r) = Reader::open(&format!("{dir}/{name}")) else {
                panic!("{name}")
            };
            let mut got = Vec::new();
            while let Some(p) = r.next_packet() {
                let Ok(p) = p else { panic!("{name}") };
                got.push(p.sec);
            }
            got
        };
        assert_eq!(secs("nl.pcap1"), [3, 4, 5]);
        assert_eq!(secs("nl.pcap2"), [6, 7]);
        assert_eq!(secs("nl.pcap3"), Vec::<u64>::new());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rotation_names() {
        assert_eq!(rotated_name("a.pcap", 0), "a.pcap");
        assert_eq!(rotated_name("a.pcap", 12), "a.pcap12");
        let by_time = Rotation {
            seconds: Some(2),
            ..Rotation::default()
        };
        let name = rotation_base("x-%Y.pcap", &by_time).unwrap_or_default();
        assert!(
            name.starts_with("x-2") && name.len() == "x-2026.pcap".len(),
            "{name}"
        );
        // without -G the name is taken as it is, % and all
        assert_eq!(
            rotation_base("x-%Y", &Rotation::default()).ok().as_deref(),
            Some("x-%Y")
        );
    }

    #[test]
    fn an_existing_fifo_is_written_into_not_replaced() {
        let path = temp_path("out.fifo");
        let _ = std::fs::remove_file(&path);
        let Ok(c) = std::ffi::CString::new(path.clone()) else {
            panic!("path")
        };
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader_path = path.clone();
        let reader = std::thread::spawn(move || std::fs::read(reader_path).unwrap_or_default());
        // No force: a FIFO holds nothing to replace.
        let Ok(out) = open_output(&path, false) else {
            panic!("open the fifo")
        };
        let Ok(mut w) = Writer::new(out) else {
            panic!("writer")
        };
        assert!(w
            .write_packets(&[packet(1, 2, 0, 0, 3, &[7, 8, 9])])
            .is_ok());
        drop(w);
        let got = reader.join().unwrap_or_default();
        assert_eq!(got.len(), 24 + 16 + COOKED_LEN + 3);
        assert_eq!(&got[got.len() - 3..], &[7, 8, 9]);
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_fifo()));
        let _ = std::fs::remove_file(&path);
    }

    fn attributed(comm: &str, cmdline: Option<Vec<String>>) -> Process {
        Process {
            pid: 4242,
            tid: Some(4243),
            comm: comm.to_string(),
            source: super::super::process::Source::Bpf,
            cmdline,
        }
    }

    fn read_back(path: &str) -> (Reader, Vec<super::super::pcapread::OfflinePacket>) {
        let Ok(mut r) = Reader::open(path) else {
            panic!("reader {path}")
        };
        let mut got = Vec::new();
        while let Some(p) = r.next_packet() {
            let Ok(p) = p else { panic!("{path}: {p:?}") };
            got.push(p);
        }
        (r, got)
    }

    /// pcapng written, then read back: the interface's name and description, timestamps to the
    /// nanosecond, the bytes, and the process of exactly the packets that had one.
    #[test]
    fn pcapng_round_trip_with_and_without_comments() {
        let path = temp_path("rw.pcapng");
        let _ = std::fs::remove_file(&path);
        let interface = Interface {
            name: Some("nlmon7".into()),
            description: Some("netns blue (net:[4026532285])".into()),
        };
        let format = Format::of(&path, false, interface.clone());
        assert_eq!(format, Format::Pcapng(interface.clone()));
        let Ok(mut w) = open_output(&path, false).and_then(|o| Writer::with_format(o, &format))
        else {
            panic!("writer")
        };
        let plain = attributed("ip", None);
        let odd = attributed(
            "my proc=1",
            Some(vec!["sh".into(), "-c".into(), "a b".into()]),
        );
        let huge = vec![9u8; SNAPLEN as usize + 10];
        let mut batch = [
            packet(10, 123_456_789, 4, 0, 5, &[1, 2, 3, 4, 5]),
            packet(11, 1, 4, 16, 3, &[6, 7, 8]),
            packet(12, 2, 0, 0, 8, &[9; 8]),
            packet(13, 3, 0, 0, huge.len() as u32, &huge),
        ];
        let notes = [
            "a note".to_string(),
            "pid=1 tid=1 comm=x source=bpf".to_string(),
        ];
        batch[0].process = Some(&plain);
        batch[2].process = Some(&odd);
        // other comments after the process's, kept as notes (a second process comment included)
        batch[2].notes = &notes;
        batch[3].notes = &notes[..1];
        assert!(w.write_packets(&batch[..1]).is_ok());
        assert!(w.write_packets(&batch[1..]).is_ok());
        assert_eq!(w.records(), 4);
        let size = w.size();
        drop(w);
        assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), Some(size));
        let (r, got) = read_back(&path);
        assert_eq!(r.interface(), Some(interface));
        assert_eq!(got.len(), 4);
        assert_eq!(
            (got[0].sec, got[0].nsec, got[0].pkttype),
            (10, 123_456_789, 4)
        );
        assert_eq!(got[0].data, [1, 2, 3, 4, 5]);
        assert_eq!(got[1].family, 16);
        assert_eq!(
            got.iter().map(|p| p.process.clone()).collect::<Vec<_>>(),
            [Some(plain), None, Some(odd), None]
        );
        assert_eq!(
            got.iter().map(|p| p.notes.clone()).collect::<Vec<_>>(),
            [vec![], vec![], notes.to_vec(), notes[..1].to_vec()]
        );
        // cut to the snap length, the length on the wire kept
        assert_eq!(got[3].data.len(), SNAPLEN as usize - COOKED_LEN);
        assert_eq!(got[3].orig_len as usize, huge.len());
        assert!(got[3].truncated);
        let _ = std::fs::remove_file(&path);
    }

    /// --pcapng or the name picks pcapng; everything else, `-w -` included, stays pcap.
    #[test]
    fn format_by_name_or_flag() {
        let i = Interface::default();
        assert_eq!(Format::of("a.pcap", false, i.clone()), Format::Pcap);
        assert_eq!(Format::of("-", false, i.clone()), Format::Pcap);
        assert_eq!(Format::of("a.pcapng.gz", false, i.clone()), Format::Pcap);
        assert_eq!(Format::of("pcapng", false, i.clone()), Format::Pcap);
        assert!(matches!(
            Format::of("a.PCAPNG", false, i.clone()),
            Format::Pcapng(_)
        ));
        assert!(matches!(
            Format::of("-", true, i.clone()),
            Format::Pcapng(_)
        ));
        assert!(matches!(
            Format::of("nl-%H.pcapng", false, i),
            Format::Pcapng(_)
        ));
    }

    /// -C on pcapng: every file starts with its section and interface blocks and stays within
    /// the bound, comments counted in a packet's size.
    #[test]
    fn pcapng_rotation_by_size() {
        let dir = temp_path("rotng");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir(&dir).is_ok());
        let base = format!("{dir}/nl.pcapng");
        let interface = Interface {
            name: Some("nlmon0".into()),
            description: None,
        };
        let header = pcapng_header(&interface)
            .map(|h| h.len() as u64)
            .unwrap_or(0);
        let who = attributed("ip", None);
        let payloads: Vec<[u8; 8]> = (0..6u8).map(|i| [i; 8]).collect();
        let mut batch: Vec<Packet<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, d)| packet(i as u32, 0, 4, 0, 8, d))
            .collect();
        for p in batch.iter_mut().step_by(2) {
            p.process = Some(&who);
        }
        let Ok(mut probe) = open_output(&format!("{dir}/probe"), false)
            .and_then(|o| Writer::with_format(o, &Format::Pcapng(interface.clone())))
        else {
            panic!("probe")
        };
        let with = probe.record_len(&batch[0]).unwrap_or(0);
        let without = probe.record_len(&batch[1]).unwrap_or(0);
        drop(probe);
        let _ = std::fs::remove_file(format!("{dir}/probe"));
        assert!(
            with > without && without == 12 + 20 + 24,
            "{with} {without}"
        );
        let rotation = Rotation {
            max_bytes: Some(header + with + without),
            seconds: None,
            max_files: None,
        };
        let Ok(mut out) = Output::open(&base, false, rotation, Format::Pcapng(interface.clone()))
        else {
            panic!("open")
        };
        assert!(out.write_packets(&batch).is_ok());
        assert_eq!((out.records(), out.files()), (6, 3));
        drop(out);
        for name in ["nl.pcapng", "nl.pcapng1", "nl.pcapng2"] {
            let path = format!("{dir}/{name}");
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert_eq!(len, header + with + without, "{name}");
            let (r, got) = read_back(&path);
            assert_eq!(r.interface(), Some(interface.clone()));
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].process.as_ref(), Some(&who));
            assert_eq!(got[1].process, None);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
