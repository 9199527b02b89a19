//! One libuv-pool task type for every export: the work runs off the JS thread, inside
//! `catch_unwind`, and its error becomes the JSON-message JS error.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{panic_message, Error, Result};
use crate::netns;
use crate::socket::NlSocket;

type Work<T> = Box<dyn FnOnce() -> Result<T> + Send + 'static>;

pub struct Job<T> {
    work: Option<Work<T>>,
}

impl<T> Job<T> {
    pub fn new<F>(work: F) -> Self
    where
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        Job {
            work: Some(Box::new(work)),
        }
    }
}

/// Run `work`, turning a panic into `Error::Panic`.
pub fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => Err(Error::Panic(panic_message(payload.as_ref()))),
    }
}

impl<T> Task for Job<T>
where
    T: ToNapiValue + TypeName + Send + 'static,
{
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<T> {
        let work = self.work.take();
        guarded(move || match work {
            Some(work) => work(),
            None => Err(Error::Panic("task computed twice".into())),
        })
        .map_err(Error::into_napi)
    }

    fn resolve(&mut self, _env: Env, output: T) -> napi::Result<T> {
        Ok(output)
    }
}

/// Convert the arguments on the JS thread (cheap), then run `op` with a fresh socket in the
/// target namespace on the libuv pool.
pub fn spawn<T, A, F>(
    netns: Option<String>,
    args: impl FnOnce() -> Result<A>,
    op: F,
) -> AsyncTask<Job<T>>
where
    T: Send + 'static,
    A: Send + 'static,
    F: FnOnce(&mut NlSocket, A) -> Result<T> + Send + 'static,
    Job<T>: napi::Task,
{
    let args = guarded(args);
    AsyncTask::new(Job::new(move || {
        let args = args?;
        netns::run_in(netns.as_deref(), move || {
            let mut sock = NlSocket::open()?;
            op(&mut sock, args)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
