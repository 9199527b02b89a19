//! The one error type of the native layer, and its one serialized form.
//!
//! napi async rejections only carry a generic `Status`, so every failure travels to JS as an
//! `Error` whose `message` is a single-line JSON object (`Error::to_json`, wrapped by js/):
//! `{"code":"ENODEV","errno":19,"message":"No such device","extack":"…","op":"RTM_NEWLINK"}`.

use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A negative errno answered by the kernel (NLMSG_ERROR / NLMSG_DONE) or returned by a syscall.
    Errno {
        errno: i32,
        op: &'static str,
        extack: Option<String>,
        extack_offset: Option<u32>,
    },
    /// The link exists but is not of the expected kind; nothing was changed.
    Kind {
        ifname: String,
        ifindex: u32,
        kind: Option<String>,
        expected: String,
    },
    /// Opening or entering the network namespace failed.
    Netns {
        errno: i32,
        netns: String,
        step: &'static str,
    },
    /// Arguments from JS that cannot be encoded.
    Arg(String),
    /// An unexpected or garbled reply from the kernel.
    Proto { op: &'static str, detail: String },
    /// A capture file that cannot be read as one (`EFILE`), or that ends inside a record
    /// (`ECUTSHORT`: every record before it was read). The message names the file.
    File {
        code: &'static str,
        path: String,
        detail: String,
    },
    /// A caught panic (a bug): reported, never an abort.
    Panic(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A plain errno without extended ACK.
    pub fn errno(errno: i32, op: &'static str) -> Self {
        Error::Errno {
            errno,
            op,
            extack: None,
            extack_offset: None,
        }
    }

    /// A syscall failure (`io::Error` from std or netlink-sys).
    pub fn io(err: &io::Error, op: &'static str) -> Self {
        Error::errno(err.raw_os_error().unwrap_or(libc::EIO), op)
    }

    pub fn proto(op: &'static str, detail: impl Into<String>) -> Self {
        Error::Proto {
            op,
            detail: detail.into(),
        }
    }

    /// The stable code the CLI switches on.
    pub fn code(&self) -> String {
        match self {
            Error::Errno { errno, .. } => errno_name(*errno),
            Error::Kind { .. } => "EKIND".into(),
            Error::Netns { .. } => "ENETNS".into(),
            Error::Arg(_) => "EARG".into(),
            Error::Proto { .. } => "EPROTO_NL".into(),
            Error::File { code, .. } => (*code).into(),
            Error::Panic(_) => "EPANIC".into(),
        }
    }

    /// The errno, when the error has one.
    pub fn errno_value(&self) -> Option<i32> {
        match self {
            Error::Errno { errno, .. } | Error::Netns { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The single-line JSON object carried in the JS error's `message`.
    pub fn to_json(&self) -> String {
        let mut fields: Vec<(&str, Value)> = vec![("code", Value::from(self.code()))];
        match self {
            Error::Errno {
                errno,
                op,
                extack,
                extack_offset,
            } => {
                fields.push(("errno", Value::from(*errno)));
                fields.push(("message", Value::from(strerror(*errno))));
                if let Some(text) = extack {
                    fields.push(("extack", Value::from(text.as_str())));
                }
                if let Some(offset) = extack_offset {
                    fields.push(("extackOffset", Value::from(*offset)));
                }
                fields.push(("op", Value::from(*op)));
            }
            Error::Kind {
                ifname,
                ifindex,
                kind,
                expected,
            } => {
                let actual = kind.as_deref().unwrap_or("none");
                fields.push((
                    "message",
                    Value::from(format!("link {ifname} is of kind {actual}, not {expected}")),
                ));
                fields.push(("ifname", Value::from(ifname.as_str())));
                fields.push(("ifindex", Value::from(*ifindex)));
                fields.push(("kind", kind.as_deref().map_or(Value::Null, Value::from)));
                fields.push(("expectKind", Value::from(expected.as_str())));
            }
            Error::Netns { errno, netns, step } => {
                fields.push(("errno", Value::from(*errno)));
                fields.push((
                    "message",
                    Value::from(format!(
                        "cannot {step} network namespace {netns}: {}",
                        strerror(*errno)
                    )),
                ));
                fields.push(("errnoCode", Value::from(errno_name(*errno))));
                fields.push(("netns", Value::from(netns.as_str())));
            }
            Error::Arg(message) => fields.push(("message", Value::from(message.as_str()))),
            Error::Proto { op, detail } => {
                fields.push((
                    "message",
                    Value::from(format!("unexpected netlink reply: {detail}")),
                ));
                fields.push(("op", Value::from(*op)));
            }
            Error::File { path, detail, .. } => {
                fields.push(("message", Value::from(format!("{path}: {detail}"))));
                fields.push(("file", Value::from(path.as_str())));
            }
            Error::Panic(message) => fields.push((
                "message",
                Value::from(format!("internal error (panic): {message}")),
            )),
        }
        let body: Vec<String> = fields
            .into_iter()
            // serde_json escapes control characters, so the result stays on one line.
            .map(|(key, value)| format!("{}:{}", Value::from(key), value))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl std::error::Error for Error {}

/// Errno names for the values rtnetlink and the syscalls used here can produce.
const ERRNO_NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::ENXIO, "ENXIO"),
    (libc::E2BIG, "E2BIG"),
    (libc::EBADF, "EBADF"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::EXDEV, "EXDEV"),
    (libc::ENODEV, "ENODEV"),
    (libc::ENOTDIR, "ENOTDIR"),
    (libc::EISDIR, "EISDIR"),
    (libc::EINVAL, "EINVAL"),
    (libc::ENFILE, "ENFILE"),
    (libc::EMFILE, "EMFILE"),
    (libc::ENOTTY, "ENOTTY"),
    (libc::EFBIG, "EFBIG"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::EROFS, "EROFS"),
    (libc::EMLINK, "EMLINK"),
    (libc::EPIPE, "EPIPE"),
    (libc::EDOM, "EDOM"),
    (libc::ERANGE, "ERANGE"),
    (libc::EDEADLK, "EDEADLK"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::ENOTEMPTY, "ENOTEMPTY"),
    (libc::ELOOP, "ELOOP"),
    (libc::ENOMSG, "ENOMSG"),
    (libc::ENODATA, "ENODATA"),
    (libc::ENOLINK, "ENOLINK"),
    (libc::EPROTO, "EPROTO"),
    (libc::EBADMSG, "EBADMSG"),
    (libc::EOVERFLOW, "EOVERFLOW"),
    (libc::ENOTSOCK, "ENOTSOCK"),
    (libc::EMSGSIZE, "EMSGSIZE"),
    (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::EADDRINUSE, "EADDRINUSE"),
    (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
    (libc::ENETDOWN, "ENETDOWN"),
    (libc::ENETUNREACH, "ENETUNREACH"),
    (libc::ENOBUFS, "ENOBUFS"),
    (libc::ENOTCONN, "ENOTCONN"),
    (libc::ETIMEDOUT, "ETIMEDOUT"),
    (libc::ECONNREFUSED, "ECONNREFUSED"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH"),
    (libc::EALREADY, "EALREADY"),
    (libc::EINPROGRESS, "EINPROGRESS"),
    (libc::EDQUOT, "EDQUOT"),
    (libc::ECANCELED, "ECANCELED"),
    (libc::ENOKEY, "ENOKEY"),
    (libc::ERFKILL, "ERFKILL"),
    // Kernel-internal, but leaks to userspace from some drivers.
    (524, "ENOTSUPP"),
];

/// `ENODEV` for 19 etc.; `E<number>` for anything not in the table.
pub fn errno_name(errno: i32) -> String {
    ERRNO_NAMES
        .iter()
        .find(|(value, _)| *value == errno)
        .map_or_else(|| format!("E{errno}"), |(_, name)| (*name).to_string())
}

/// strerror text ("No such device"), without std's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// Describe a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Run `work`, turning a panic into `Error::Panic`: nothing below the JS boundary unwinds
/// through it.
pub fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => Err(Error::Panic(panic_message(payload.as_ref()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> serde_json::Map<String, Value> {
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a JSON object: {json} ({other:?})"),
        }
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(19), "ENODEV");
        assert_eq!(errno_name(17), "EEXIST");
        assert_eq!(errno_name(1), "EPERM");
        assert_eq!(errno_name(13), "EACCES");
        assert_eq!(errno_name(95), "EOPNOTSUPP");
        assert_eq!(errno_name(22), "EINVAL");
        assert_eq!(errno_name(16), "EBUSY");
        assert_eq!(errno_name(34), "ERANGE");
        assert_eq!(errno_name(105), "ENOBUFS");
        assert_eq!(errno_name(23), "ENFILE");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(4242), "E4242");
        assert_eq!(errno_name(-3), "E-3");
    }

    #[test]
    fn errno_table_has_no_duplicates() {
        for (i, (value, name)) in ERRNO_NAMES.iter().enumerate() {
            for (other_value, other_name) in &ERRNO_NAMES[i + 1..] {
                assert_ne!(value, other_value, "{name} and {other_name} share a value");
                assert_ne!(name, other_name);
            }
        }
    }

    #[test]
    fn strerror_text() {
        assert_eq!(strerror(19), "No such device");
        assert_eq!(strerror(95), "Operation not supported");
        assert!(!strerror(4242).contains("os error"));
    }

    #[test]
    fn errno_json_shape() {
        let err = Error::Errno {
            errno: 95,
            op: "RTM_NEWLINK",
            extack: Some("Unknown device type".into()),
            extack_offset: None,
        };
        let json = err.to_json();
        assert!(!json.contains('\n'));
        assert!(json.starts_with("{\"code\":\"EOPNOTSUPP\","), "{json}");
        let map = parse(&json);
        assert_eq!(map["code"], "EOPNOTSUPP");
        assert_eq!(map["errno"], 95);
        assert_eq!(map["message"], "Operation not supported");
        assert_eq!(map["extack"], "Unknown device type");
        assert_eq!(map["op"], "RTM_NEWLINK");
        assert!(!map.contains_key("extackOffset"));

        let plain = parse(&Error::errno(19, "RTM_GETLINK").to_json());
        assert_eq!(plain["code"], "ENODEV");
        assert!(!plain.contains_key("extack"));
        let with_offset = parse(
            &Error::Errno {
                errno: 22,
                op: "RTM_SETLINK",
                extack: None,
                extack_offset: Some(36),
            }
            .to_json(),
        );
        assert_eq!(with_offset["extackOffset"], 36);
    }

    #[test]
    fn kind_json_shape() {
        let lo = parse(
            &Error::Kind {
                ifname: "lo".into(),
                ifindex: 1,
                kind: None,
                expected: "nlmon".into(),
            }
            .to_json(),
        );
        assert_eq!(lo["code"], "EKIND");
        assert_eq!(lo["ifname"], "lo");
        assert_eq!(lo["ifindex"], 1);
        assert_eq!(lo["kind"], Value::Null);
        assert_eq!(lo["expectKind"], "nlmon");
        let veth = parse(
            &Error::Kind {
                ifname: "v0".into(),
                ifindex: 7,
                kind: Some("veth".into()),
                expected: "nlmon".into(),
            }
            .to_json(),
        );
        assert_eq!(veth["kind"], "veth");
    }

    #[test]
    fn other_json_shapes() {
        let netns = parse(
            &Error::Netns {
                errno: 2,
                netns: "x\"y\n".into(),
                step: "open",
            }
            .to_json(),
        );
        assert_eq!(netns["code"], "ENETNS");
        assert_eq!(netns["errno"], 2);
        assert_eq!(netns["errnoCode"], "ENOENT");
        assert_eq!(netns["netns"], "x\"y\n");
        assert_eq!(parse(&Error::Arg("bad".into()).to_json())["code"], "EARG");
        assert_eq!(
            parse(&Error::proto("RTM_GETLINK", "short").to_json())["code"],
            "EPROTO_NL"
        );
        let panic = Error::Panic("boom\nline".into()).to_json();
        assert!(!panic.contains('\n'));
        assert_eq!(parse(&panic)["code"], "EPANIC");
    }

    #[test]
    fn panics_become_epanic() {
        let result: Result<()> = guarded(|| panic!("bug {}", 42));
        assert_eq!(result, Err(Error::Panic("bug 42".into())));
        assert_eq!(guarded(|| Ok(7)), Ok(7));
        assert_eq!(
            guarded::<()>(|| Err(Error::Arg("x".into()))),
            Err(Error::Arg("x".into()))
        );
    }

    #[test]
    fn io_errors_keep_errno() {
        let err = Error::io(&io::Error::from_raw_os_error(105), "recv");
        assert_eq!(err.code(), "ENOBUFS");
        assert_eq!(err.errno_value(), Some(105));
        let other = Error::io(&io::Error::other("no errno"), "recv");
        assert_eq!(other.code(), "EIO");
    }
}
