//! What /proc tells of processes and of the captured namespace's netlink sockets.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

/// Port scans (/proc/net/netlink + /proc/*/fd) at most this often.
const SCAN_EVERY: Duration = Duration::from_millis(500);

/// What /proc says of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Status {
    pub(super) tgid: u32,
    pub(super) ppid: u32,
    /// Its pid in its own pid namespace (NSpid's last field): its first socket's port id.
    pub(super) inner: u32,
    pub(super) comm: Option<String>,
}

/// Tgid, PPid and NSpid of a /proc/PID/status text.
fn parse_status(text: &str) -> Option<(u32, u32, u32)> {
    let (mut tgid, mut ppid, mut inner) = (None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Tgid" => tgid = value.trim().parse().ok(),
            "PPid" => ppid = value.trim().parse().ok(),
            "NSpid" => inner = value.split_whitespace().last().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    let tgid = tgid?;
    // kernels before 4.1 have no NSpid: one pid namespace as far as they tell
    Some((tgid, ppid?, inner.unwrap_or(tgid)))
}

fn read_comm(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
    Some(String::from_utf8_lossy(raw).into_owned())
}

pub(super) fn read_status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let (tgid, ppid, inner) = parse_status(&text)?;
    Some(Status {
        tgid,
        ppid,
        inner,
        comm: read_comm(pid),
    })
}

/// Every pid /proc lists.
pub(super) fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether nlmonctl runs in the initial pid namespace (its NSpid has one field): only there do
/// the proc connector's pids (the initial namespace's) match what /proc and the records show.
pub(super) fn in_initial_pid_namespace() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|v| v.split_whitespace().count() == 1)
        })
        .unwrap_or(false)
}

/// Netlink sockets of the captured namespace, by port: who holds them, as /proc/*/fd tells.
pub(super) struct PortScan {
    /// `/proc/net/netlink`, opened in the captured namespace (reread from its start).
    table: File,
    owners: HashMap<(u16, u32), u32>,
    inode_owner: HashMap<u64, u32>,
    last: Option<Instant>,
}

/// (protocol, port id, inode) of every socket a /proc/net/netlink text lists.
fn parse_netlink_table(text: &str) -> Vec<(u16, u32, u64)> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let col = |name| header.iter().position(|h| *h == name);
    let (Some(eth), Some(pid), Some(inode)) = (col("Eth"), col("Pid"), col("Inode")) else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            Some((
                cols.get(eth)?.parse().ok()?,
                cols.get(pid)?.parse().ok()?,
                cols.get(inode)?.parse().ok()?,
            ))
        })
        .collect()
}

impl PortScan {
    /// Over `table`, the captured namespace's `/proc/net/netlink`, opened there.
    pub(super) fn new(table: File) -> PortScan {
        PortScan {
            table,
            owners: HashMap::new(),
            inode_owner: HashMap::new(),
            last: None,
        }
    }

    pub(super) fn owner(&mut self, protocol: u16, port: u32, rescan: bool) -> Option<u32> {
        if let Some(owner) = self.owners.get(&(protocol, port)) {
            return Some(*owner);
        }
        if !rescan || self.last.is_some_and(|t| t.elapsed() < SCAN_EVERY) {
            return None;
        }
        self.last = Some(Instant::now());
        let mut text = String::new();
        if self.table.seek(SeekFrom::Start(0)).is_err()
            || self.table.read_to_string(&mut text).is_err()
        {
            return None;
        }
        let sockets = parse_netlink_table(&text);
        let wanted: HashSet<u64> = sockets
            .iter()
            .map(|s| s.2)
            .filter(|i| !self.inode_owner.contains_key(i))
            .collect();
        if !wanted.is_empty() {
            for pid in all_pids() {
                let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                    continue;
                };
                for fd in fds.flatten() {
                    let Ok(target) = std::fs::read_link(fd.path()) else {
                        continue;
                    };
                    let inode = target
                        .to_str()
                        .and_then(|t| t.strip_prefix("socket:["))
                        .and_then(|t| t.strip_suffix(']'))
                        .and_then(|t| t.parse::<u64>().ok());
                    if let Some(inode) = inode.filter(|i| wanted.contains(i)) {
                        self.inode_owner.insert(inode, pid);
                    }
                }
            }
        }
        let live: HashSet<u64> = sockets.iter().map(|s| s.2).collect();
        self.inode_owner.retain(|inode, _| live.contains(inode));
        self.owners = sockets
            .iter()
            .filter_map(|(proto, port, inode)| {
                Some(((*proto, *port), *self.inode_owner.get(inode)?))
            })
            .collect();
        self.owners.get(&(protocol, port)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_by_name() {
        let text = "Name:\tip\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t17\nNSpid:\t4242\t1\n";
        assert_eq!(parse_status(text), Some((4242, 17, 1)));
        let old = "Name:\tip\nTgid:\t5\nPPid:\t1\n";
        assert_eq!(parse_status(old), Some((5, 1, 5)));
        assert_eq!(parse_status("Name:\tip\n"), None);
    }

    #[test]
    fn the_netlink_table_is_read_by_column_name() {
        let text = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n\
                    0000000000000000 0   4242       00000000 0        0        0     2        0        31337\n\
                    0000000000000000 0   4294963199 00000000 0        0        0     2        0        7\n";
        assert_eq!(
            parse_netlink_table(text),
            vec![(0, 4242, 31337), (0, 4_294_963_199, 7)]
        );
    }
}
