//! pcap files with `LINKTYPE_NETLINK` (253): writing (through `pcap-file`) and reading.
//!
//! Each record is the 16-byte cooked header — packet type, ARPHRD type (824), address length
//! (0), 8 address bytes, protocol (the netlink family), all big-endian — then the netlink
//! messages in host byte order.
//!
//! Captures carry secrets, so a file is created mode 0600 with `O_CREAT|O_EXCL|O_NOFOLLOW`; an
//! existing one is only replaced with `force` (`O_TRUNC|O_NOFOLLOW`, then chmod 0600).

use byteorder_slice::NativeEndian;
use pcap_file::pcap::{PcapHeader, PcapReader, RawPcapPacket};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

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
}

/// At most this many iovecs per writev (IOV_MAX on Linux).
const IOV_MAX: usize = 1024;

/// A pcap file being written. pcap-file encodes the file header and each record header; the
/// packet bytes go from where they lie (the ring) to the file with writev, never copied in
/// userspace: in the guest, copying every byte twice cost more CPU than tcpdump's whole run.
pub struct Writer {
    out: BlockingFd,
    /// Record header + cooked header of each packet of the batch being written, 32 bytes each.
    headers: Vec<u8>,
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
    pub fn new(mut out: BlockingFd) -> Result<Writer> {
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
        // The file header goes out at once: even an empty capture is a valid pcap file.
        out.write_all(&bytes)
            .map_err(|e| Error::io(&e, "write(pcap)"))?;
        Ok(Writer {
            out,
            headers: Vec::with_capacity(32 * 4096),
            offset: bytes.len() as u64,
            records: 0,
        })
    }

    /// Records written whole so far.
    pub fn records(&self) -> u64 {
        self.records
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
        }
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * packets.len());
        for (p, head) in packets.iter().zip(self.headers.chunks_exact(32)) {
            slices.push(IoSlice::new(head));
            slices.push(IoSlice::new(&p.data[..p.data.len().min(max_data)]));
        }
        // Record sizes, to know how many whole records a short write left.
        let sizes: Vec<u64> = slices
            .chunks_exact(2)
            .map(|pair| (pair[0].len() + pair[1].len()) as u64)
            .collect();
        let mut rest = &mut slices[..];
        let mut done = 0u64;
        while !rest.is_empty() {
            let upto = rest.len().min(IOV_MAX);
            let n = match self.out.write_vectored(&rest[..upto]) {
                Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
                other => other,
            };
            match n {
                Ok(n) => {
                    done += n as u64;
                    IoSlice::advance_slices(&mut rest, n);
                }
                Err(e) => {
                    let mut whole = 0u64;
                    for size in &sizes {
                        if whole + size > done {
                            break;
                        }
                        whole += size;
                        self.records += 1;
                    }
                    self.offset += whole;
                    self.cut_to_last_record();
                    return Err(Error::io(&e, "write(pcap)"));
                }
            }
        }
        self.offset += done;
        self.records += sizes.len() as u64;
        Ok(())
    }
}

/// One record of a pcap file, with the cooked header taken apart.
pub struct OfflinePacket {
    pub sec: u64,
    pub nsec: u32,
    pub pkttype: u16,
    pub family: u16,
    /// The packet's length on the wire, cooked header excluded.
    pub orig_len: u32,
    pub data: Vec<u8>,
}

pub struct Reader<R: Read> {
    inner: PcapReader<R>,
}

impl Reader<File> {
    pub fn open(path: &str) -> Result<Reader<File>> {
        let file = File::open(path).map_err(|e| Error::io(&e, "open(pcap)"))?;
        Reader::new(file)
    }
}

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Result<Reader<R>> {
        let inner = PcapReader::new(input).map_err(|e| match e {
            pcap_file::PcapError::IoError(io) => Error::io(&io, "read(pcap)"),
            other => Error::Arg(format!("not a pcap file: {other}")),
        })?;
        let link = inner.header().datalink;
        if link != DataLink::NETLINK {
            return Err(Error::Arg(format!(
                "the pcap file's link type is {link:?}, not NETLINK (253)"
            )));
        }
        Ok(Reader { inner })
    }

    /// The next record; a record too short for the cooked header is returned with family
    /// u16::MAX and its bytes, for the decoder to report.
    pub fn next_packet(&mut self) -> Option<Result<OfflinePacket>> {
        let packet = match self.inner.next_packet()? {
            Ok(p) => p,
            Err(e) => return Some(Err(pcap_err(e, "read(pcap)"))),
        };
        let data: &[u8] = &packet.data;
        let (pkttype, family, body) = if data.len() >= COOKED_LEN {
            (
                u16::from_be_bytes([data[0], data[1]]),
                u16::from_be_bytes([data[14], data[15]]),
                data[COOKED_LEN..].to_vec(),
            )
        } else {
            (0, u16::MAX, data.to_vec())
        };
        Some(Ok(OfflinePacket {
            sec: packet.timestamp.as_secs(),
            nsec: packet.timestamp.subsec_nanos(),
            pkttype,
            family,
            orig_len: packet.orig_len.saturating_sub(if family == u16::MAX {
                0
            } else {
                COOKED_LEN as u32
            }),
            data: body,
        }))
    }
}

/// Copy the packets numbered in `keep` (1-based, as the decoder numbers them) from the pcap file
/// `src` to `dst` (opened like any capture output: 0600, no symlinks, replaced only with
/// `force`). Returns how many were written. trace --only-cmd -w filters its capture with it.
pub fn copy_packets(src: &str, dst: &str, force: bool, keep: &[u32]) -> Result<u32> {
    let mut wanted: Vec<u32> = keep.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut reader = Reader::open(src)?;
    let mut writer = Writer::new(open_output(dst, force)?)?;
    let (mut index, mut written, mut next) = (0u32, 0u32, 0usize);
    while next < wanted.len() {
        let Some(packet) = reader.next_packet() else {
            break;
        };
        let packet = packet?;
        index += 1;
        if wanted[next] != index {
            continue;
        }
        next += 1;
        writer.write_packets(&[Packet {
            sec: u32::try_from(packet.sec).unwrap_or(u32::MAX),
            nsec: packet.nsec,
            pkttype: packet.pkttype,
            family: packet.family,
            orig_len: packet.orig_len,
            data: &packet.data,
        }])?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
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
    fn copy_some_packets() {
        let (src, dst) = (temp_path("all.pcap"), temp_path("some.pcap"));
        let _ = std::fs::remove_file(&src);
        let _ = std::fs::remove_file(&dst);
        let Ok(mut w) = open_output(&src, false).and_then(Writer::new) else {
            panic!("writer")
        };
        for i in 1..=5u8 {
            assert!(w
                .write_packets(&[packet(u32::from(i), 0, 4, 0, 100, &[i; 4])])
                .is_ok());
        }
        drop(w);
        assert_eq!(copy_packets(&src, &dst, false, &[4, 2, 9]).ok(), Some(2));
        let Ok(mut r) = Reader::open(&dst) else {
            panic!("reader")
        };
        let mut got = Vec::new();
        while let Some(Ok(p)) = r.next_packet() {
            got.push((p.sec, p.orig_len, p.data));
        }
        assert_eq!(got, vec![(2, 100, vec![2u8; 4]), (4, 100, vec![4u8; 4])]);
        // the destination is a capture output like any other: never replaced without force
        assert!(copy_packets(&src, &dst, false, &[1]).is_err());
        assert_eq!(copy_packets(&src, &dst, true, &[]).ok(), Some(0));
        let _ = std::fs::remove_file(&src);
        let _ = std::fs::remove_file(&dst);
    }

    /// More packets than one writev takes, and one longer than the snap length.
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
}
