//! Running work inside another network namespace without ever moving a libuv worker.
//!
//! `setns(CLONE_NEWNET)` changes the namespace of the calling *thread*. The work therefore runs on
//! a fresh `std::thread` that enters the namespace first and exits when done; the netlink socket
//! is opened on that thread, so it belongs to the target namespace.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::thread;

use super::error::{guarded, panic_message, Error, Result};

/// Where a namespace name points: `/run/netns/NAME`, or the path itself if it contains a `/`.
pub fn netns_path(netns: &str) -> String {
    if netns.contains('/') {
        netns.to_string()
    } else {
        format!("/run/netns/{netns}")
    }
}

/// `statfs.f_type` of nsfs, the file system of `/proc/PID/ns/*` and of `ip netns` bind mounts.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Open a namespace file without ever blocking (a FIFO planted at the path would block a plain
/// open forever) and refuse, as EINVAL, any file that is not on nsfs, before setns sees it.
fn open_netns(netns: &str) -> Result<File> {
    let fail = |errno: i32| Error::Netns {
        errno,
        netns: netns.to_string(),
        step: "open",
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(netns_path(netns))
        .map_err(|e| fail(e.raw_os_error().unwrap_or(libc::EIO)))?;
    // SAFETY: fstatfs fills a zeroed statfs from a valid fd.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return Err(fail(errno));
    }
    #[allow(clippy::unnecessary_cast)]
    if st.f_type as i64 != NSFS_MAGIC {
        return Err(fail(libc::EINVAL));
    }
    Ok(file)
}

/// Run `work` in the namespace `netns`, or right here when there is none.
pub fn run_in<T, F>(netns: Option<&str>, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let Some(netns) = netns else {
        return work();
    };
    let file = open_netns(netns)?;
    let name = netns.to_string();
    let handle = thread::Builder::new()
        .name("nlmonctl-netns".into())
        .spawn(move || -> Result<T> {
            // SAFETY: setns on a valid fd; affects only this short-lived thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                let errno = std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                return Err(Error::Netns {
                    errno,
                    netns: name,
                    step: "enter",
                });
            }
            drop(file);
            guarded(work)
        })
        .map_err(|e| Error::io(&e, "spawn thread"))?;
    match handle.join() {
        Ok(result) => result,
        Err(payload) => Err(Error::Panic(panic_message(payload.as_ref()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(netns_path("blue"), "/run/netns/blue");
        assert_eq!(netns_path("/proc/1/ns/net"), "/proc/1/ns/net");
        assert_eq!(netns_path("./x"), "./x");
    }

    #[test]
    fn missing_namespace_is_enetns() {
        let err = run_in(Some("nlmonctl-no-such-netns-xyz"), || Ok(())).err();
        assert!(
            matches!(
                err,
                Some(Error::Netns {
                    errno: libc::ENOENT,
                    step: "open",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn not_a_namespace_is_enetns() {
        let err = run_in(Some("/dev/null"), || Ok(())).err();
        assert!(
            matches!(
                err,
                Some(Error::Netns {
                    errno: libc::EINVAL,
                    step: "open",
                    ..
                })
            ),
            "{err:?}"
        );
        // nsfs, but a pid namespace: setns refuses it
        let err = run_in(Some("/proc/self/ns/pid"), || Ok(())).err();
        assert!(
            matches!(
                err,
                Some(Error::Netns {
                    errno: libc::EINVAL,
                    step: "enter",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn own_namespace_runs_on_other_thread() {
        let main_thread = thread::current().id();
        let ran_on = run_in(Some("/proc/self/ns/net"), || Ok(thread::current().id()));
        assert!(matches!(ran_on, Ok(id) if id != main_thread));
    }

    #[test]
    fn panics_become_errors() {
        let err = run_in::<(), _>(Some("/proc/self/ns/net"), || panic!("boom")).err();
        assert_eq!(err, Some(Error::Panic("boom".into())));
    }

    #[test]
    fn no_namespace_runs_here() {
        let here = thread::current().id();
        assert!(matches!(run_in(None, || Ok(thread::current().id())), Ok(id) if id == here));
    }
}
