//! pcap files with `LINKTYPE_NETLINK` (253): writing (through `pcap-file`) and reading.
//!
//! Each record is the 16-byte cooked header — packet type, ARPHRD type (824), address length
//! (0), 8 address bytes, protocol (the netlink family), all big-endian — then the netlink
//! messages in host byte order.
//!
//! Captures carry secrets, so a file is created mode 0600 with `O_CREAT|O_EXCL|O_NOFOLLOW`; an
//! existing one is only replaced with `force` (`O_TRUNC|O_NOFOLLOW`, then chmod 0600).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::error::{Error, Result};

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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut pfd = libc::pollfd {
                        fd: self.0.as_raw_fd(),
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut pfd, 1, 1000) };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
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
    if force {
        // An existing file keeps its mode on O_TRUNC: a capture is private whatever it replaced.
        // SAFETY: valid fd.
        if unsafe { libc::fchmod(file.as_raw_fd(), 0o600) } != 0 {
            return Err(Error::io(&io::Error::last_os_error(), "fchmod(pcap)"));
        }
    }
    Ok(BlockingFd(file))
}

/// What `PcapWriter` writes into: a buffer the `Writer` drains to the file (PcapWriter has no
/// way to reach its inner writer for a flush).
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned pcap buffer"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const DRAIN_AT: usize = 1 << 20;

pub struct Writer {
    inner: PcapWriter<Sink>,
    buffer: Arc<Mutex<Vec<u8>>>,
    out: BlockingFd,
    scratch: Vec<u8>,
}

fn pcap_err(e: pcap_file::PcapError, op: &'static str) -> Error {
    match e {
        pcap_file::PcapError::IoError(io) => Error::io(&io, op),
        other => Error::proto(op, other.to_string()),
    }
}

impl Writer {
    pub fn new(out: BlockingFd) -> Result<Writer> {
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
        let buffer = Arc::new(Mutex::new(Vec::with_capacity(2 * DRAIN_AT)));
        let inner = PcapWriter::with_header(Sink(Arc::clone(&buffer)), header)
            .map_err(|e| pcap_err(e, "write(pcap)"))?;
        let mut writer = Writer {
            inner,
            buffer,
            out,
            scratch: Vec::with_capacity(65_536),
        };
        // The file header goes out at once: even an empty capture is a valid pcap file.
        writer.flush()?;
        Ok(writer)
    }

    pub fn write(
        &mut self,
        sec: u32,
        nsec: u32,
        pkttype: u16,
        family: u16,
        orig_len: u32,
        data: &[u8],
    ) -> Result<()> {
        self.scratch.clear();
        self.scratch
            .extend_from_slice(&cooked_header(pkttype, family));
        self.scratch.extend_from_slice(data);
        let packet = PcapPacket::new(
            Duration::new(u64::from(sec), nsec),
            orig_len.saturating_add(COOKED_LEN as u32),
            &self.scratch,
        );
        self.inner
            .write_packet(&packet)
            .map_err(|e| pcap_err(e, "write(pcap)"))?;
        let full = self.buffer.lock().map_or(true, |b| b.len() >= DRAIN_AT);
        if full {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        let mut buffer = self
            .buffer
            .lock()
            .map_err(|_| Error::proto("write(pcap)", "poisoned pcap buffer"))?;
        self.out
            .write_all(&buffer)
            .map_err(|e| Error::io(&e, "write(pcap)"))?;
        buffer.clear();
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
        let sec = u32::try_from(packet.sec).unwrap_or(u32::MAX);
        writer.write(
            sec,
            packet.nsec,
            packet.pkttype,
            packet.family,
            packet.orig_len,
            &packet.data,
        )?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(w.write(10, 20, 7, 0, 5, &payload).is_ok());
        assert!(w.write(11, 21, 6, 16, 5, &payload).is_ok());
        assert!(w.flush().is_ok());
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
            assert!(w.write(u32::from(i), 0, 4, 0, 100, &[i; 4]).is_ok());
        }
        assert!(w.flush().is_ok());
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
}
