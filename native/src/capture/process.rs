//! Who sent a message: the `process` object of a record (issue "name the process behind every
//! netlink message"). One definition, filled live (eBPF or /proc), or read back from a pcapng
//! packet comment.

use serde::Serialize;

/// How an attribution was known. Never a guess: when nothing is known, a record has no process.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Recorded in the kernel at send time by the eBPF program.
    Bpf,
    /// The /proc fallback: proc connector exec/exit events, the autobind rule, /proc/net/netlink.
    Proc,
}

/// The process behind a message, with pid and tid as seen from nlmonctl's pid namespace.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub source: Source,
    /// `--cmdline`: the process's argv, when it could still be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<Vec<String>>,
}
