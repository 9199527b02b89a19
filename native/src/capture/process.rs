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
    /// The sending thread: known to eBPF, not to the /proc fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    pub comm: String,
    pub source: Source,
    /// `--cmdline`: the process's argv, when it could still be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<Vec<String>>,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Bpf => "bpf",
            Source::Proc => "proc",
        }
    }

    fn parse(s: &str) -> Option<Source> {
        match s {
            "bpf" => Some(Source::Bpf),
            "proc" => Some(Source::Proc),
            _ => None,
        }
    }
}

/// A byte the comment writes as `\xHH`: the separators (space, `=`), the escape itself, `'` (an
/// empty argument is `''`) and control characters. Anything else, UTF-8 included, is as it is.
fn needs_escape(b: u8) -> bool {
    matches!(b, b' ' | b'=' | b'\\' | b'\'') || b < 0x20 || b == 0x7f
}

fn escape(value: &str, out: &mut String) {
    use std::fmt::Write;
    if value.is_empty() {
        out.push_str("''");
        return;
    }
    for c in value.chars() {
        if c.is_ascii() && needs_escape(c as u8) {
            let _ = write!(out, "\\x{:02x}", c as u8);
        } else {
            out.push(c);
        }
    }
}

/// The inverse of escape; None for anything escape never writes (a bare separator, a bad escape).
fn unescape(token: &str) -> Option<String> {
    if token == "''" {
        return Some(String::new());
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            let hex = token
                .get(i + 2..i + 4)
                .filter(|_| bytes.get(i + 1) == Some(&b'x'))?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if !needs_escape(value) || !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(value);
            i += 4;
        } else if needs_escape(b) {
            return None;
        } else {
            out.push(b);
            i += 1;
        }
    }
    if out.is_empty() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// A decimal u32 as to_comment writes it: digits only, no sign, no leading zero.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl Process {
    /// The pcapng packet comment (`opt_comment`) of a packet this process is behind:
    /// `pid=4242 tid=4242 comm=ip source=bpf` (no `tid=` when it is not known), then, with a
    /// cmdline, ` cmdline=ARG ARG…`.
    /// Values are escaped byte-wise as `\xHH` where they hold a space, `=`, `\`, `'` or a control
    /// character (a comm is 15 bytes of anything); an empty argument is `''`. The one owner of
    /// this format: from_comment reads it back.
    pub fn to_comment(&self) -> String {
        let mut out = format!("pid={} ", self.pid);
        if let Some(tid) = self.tid {
            out.push_str(&format!("tid={tid} "));
        }
        out.push_str("comm=");
        escape(&self.comm, &mut out);
        out.push_str(" source=");
        out.push_str(self.source.as_str());
        if let Some(args) = &self.cmdline {
            out.push_str(" cmdline=");
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                escape(arg, &mut out);
            }
        }
        out
    }

    /// Read a comment to_comment wrote. Anything else (another tool's comment, a person's note)
    /// is None, never an error: the keys must come exactly in to_comment's order and form.
    pub fn from_comment(comment: &str) -> Option<Process> {
        let mut tokens = comment.split(' ').peekable();
        let mut field = |key: &str, optional: bool| {
            let value = tokens
                .peek()
                .and_then(|t| t.strip_prefix(key))
                .and_then(|t| t.strip_prefix('='));
            if value.is_some() || !optional {
                tokens.next();
            }
            value
        };
        let pid = number(field("pid", false)?)?;
        let tid = match field("tid", true) {
            Some(t) => Some(number(t)?),
            None => None,
        };
        let comm = unescape(field("comm", false)?)?;
        let source = Source::parse(field("source", false)?)?;
        let cmdline = match tokens.next() {
            None => None,
            Some(first) => {
                let first = first.strip_prefix("cmdline=")?;
                let mut args = Vec::new();
                if !first.is_empty() {
                    args.push(unescape(first)?);
                    for t in tokens {
                        args.push(unescape(t)?);
                    }
                } else if tokens.next().is_some() {
                    return None;
                }
                Some(args)
            }
        };
        Some(Process {
            pid,
            tid,
            comm,
            source,
            cmdline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(comm: &str, cmdline: Option<&[&str]>) -> Process {
        Process {
            pid: 4242,
            tid: Some(4243),
            comm: comm.to_string(),
            source: Source::Bpf,
            cmdline: cmdline.map(|a| a.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn the_common_case_reads_plainly() {
        let mut p = process("ip", None);
        p.tid = Some(4242);
        assert_eq!(p.to_comment(), "pid=4242 tid=4242 comm=ip source=bpf");
        assert_eq!(Process::from_comment(&p.to_comment()), Some(p.clone()));
        p.source = Source::Proc;
        p.cmdline = Some(vec!["ip".into(), "link".into(), "add".into()]);
        assert_eq!(
            p.to_comment(),
            "pid=4242 tid=4242 comm=ip source=proc cmdline=ip link add"
        );
        assert_eq!(Process::from_comment(&p.to_comment()), Some(p.clone()));
        // the /proc fallback does not know the thread
        p.tid = None;
        p.cmdline = None;
        assert_eq!(p.to_comment(), "pid=4242 comm=ip source=proc");
        assert_eq!(Process::from_comment(&p.to_comment()), Some(p));
    }

    #[test]
    fn odd_comms_and_arguments_round_trip() {
        let comms = [
            "kworker/0:1",
            "my proc",
            "a=b",
            "=",
            " ",
            "back\\slash",
            "tab\there",
            "new\nline",
            "quote'",
            "''",
            "\\x41",
            "ünïcødé",
            "",
            "pid=1 tid=1",
            "\u{7f}\u{1}",
            "15 bytes max..",
        ];
        for comm in comms {
            let p = process(comm, None);
            let c = p.to_comment();
            assert_eq!(c.split(' ').count(), 4, "{c:?}");
            assert_eq!(Process::from_comment(&c), Some(p), "{c:?}");
        }
        assert_eq!(
            process("my proc", None).to_comment(),
            "pid=4242 tid=4243 comm=my\\x20proc source=bpf"
        );
        assert_eq!(
            process("a=b", None).to_comment(),
            "pid=4242 tid=4243 comm=a\\x3db source=bpf"
        );
        for args in [
            &[][..],
            &[""][..],
            &["", ""][..],
            &["sh", "-c", "echo a b; x=1"][..],
            &["--opt=value", "it's", "back\\"][..],
        ] {
            let p = process("sh", Some(args));
            let c = p.to_comment();
            assert_eq!(Process::from_comment(&c), Some(p), "{c:?}");
        }
    }

    /// Another tool's (or a person's) comment is no process, never an error or a guess.
    #[test]
    fn other_comments_are_no_process() {
        for c in [
            "",
            "hello world",
            "pid=1",
            "pid=1 tid=2 comm=ip",
            "pid=1 tid=2 comm=ip source=guess",
            "pid=-1 tid=2 comm=ip source=bpf",
            "pid=01 tid=2 comm=ip source=bpf",
            "pid=99999999999 tid=2 comm=ip source=bpf",
            "tid=2 pid=1 comm=ip source=bpf",
            "pid=1 tid=2 comm=a=b source=bpf",
            "pid=1 tid=2 comm= source=bpf",
            "pid=1 tid=2 comm=\\x4 source=bpf",
            "pid=1 tid=2 comm=\\x41 source=bpf",
            "pid=1 tid=2 comm=\\xzz source=bpf",
            "pid=1 tid=2 comm=\\xff source=bpf",
            "pid=1 tid=2 comm=ip source=bpf extra=1",
            "pid=1 tid=2 comm=ip source=bpf cmdline=a  b",
            "pid=1  tid=2 comm=ip source=bpf",
            "pid=1 tid=2 comm=ip source=bpf ",
        ] {
            assert_eq!(Process::from_comment(c), None, "{c:?}");
        }
    }
}
