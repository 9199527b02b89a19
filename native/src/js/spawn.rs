//! trace's CMD, started here rather than by Node: Node's child_process cannot ask the kernel to
//! kill the child when nlmonctl dies, so a SIGKILLed trace would leave CMD running. The child sets
//! PR_SET_PDEATHSIG(SIGKILL) between fork and exec.
//!
//! The parent-death signal fires when the *thread* that forked exits, not the process: the fork
//! is done synchronously on the JS main thread (which lives as long as nlmonctl), never on the
//! libuv pool. Only the wait runs on the pool.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use super::task::{sync, Job};
use crate::netlink::error::Error;

/// How CMD ended: its exit code, or the number of the signal that ended it.
#[napi(object)]
pub struct CommandExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// Start FILE (looked up in PATH when it has no '/') with ARGS, stdio inherited, killed by the
/// kernel (SIGKILL) if nlmonctl dies first; returns its pid. A CMD that cannot be executed
/// rejects with its errno (ENOENT, EACCES…, op "execve"), reported by std's exec-error pipe.
#[napi(catch_unwind)]
pub fn spawn_command(file: String, args: Vec<String>) -> napi::Result<u32> {
    sync(|| {
        let parent = std::process::id() as libc::pid_t;
        let mut cmd = Command::new(&file);
        cmd.args(&args);
        // SAFETY: the closure runs in the forked child before exec and makes only
        // async-signal-safe calls (prctl, getppid, signal).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // nlmonctl died between fork and prctl: the signal will never come.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                // Node ignores SIGPIPE (and SIGXFSZ); an ignored signal survives exec, so CMD
                // would start with them ignored, unlike under a shell. Handled signals reset on exec.
                for signal in [libc::SIGPIPE, libc::SIGXFSZ] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        // std::process::Child does not kill or wait on drop: wait_command reaps it by pid.
        let child = cmd.spawn().map_err(|e| Error::io(&e, "execve"))?;
        Ok(child.id())
    })
}

/// Wait for a child started by spawn_command (waitpid on the libuv pool) and reap it.
#[napi(ts_return_type = "Promise<CommandExit>", catch_unwind)]
pub fn wait_command(pid: u32) -> AsyncTask<Job<CommandExit>> {
    AsyncTask::new(Job::new(move || {
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: waitpid writes only into `status`.
            let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
            if rc >= 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::io(&err, "waitpid"));
            }
        }
        Ok(if libc::WIFSIGNALED(status) {
            CommandExit {
                code: None,
                signal: Some(libc::WTERMSIG(status)),
            }
        } else {
            CommandExit {
                code: Some(libc::WEXITSTATUS(status)),
                signal: None,
            }
        })
    }))
}
