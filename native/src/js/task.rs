//! One libuv-pool task type for every asynchronous export: the work runs off the JS thread,
//! inside `guarded`, and its error becomes the JSON-message JS error.

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::netlink::error::{guarded, Error, Result};
use crate::netlink::netns;
use crate::netlink::socket::NlSocket;

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

/// The JS-facing error: the only place a napi error is made (its message is `Error::to_json`).
pub fn napi_error(error: Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, error.to_json())
}

/// A synchronous export's result: its work guarded, its error the JSON-message JS error.
pub fn sync<T>(work: impl FnOnce() -> Result<T>) -> napi::Result<T> {
    guarded(work).map_err(napi_error)
}

impl<T> Task for Job<T>
where
    T: ToNapiValue + TypeName + Send + 'static,
{
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<T> {
        let work = self.work.take();
        sync(move || match work {
            Some(work) => work(),
            None => Err(Error::Panic("task computed twice".into())),
        })
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
