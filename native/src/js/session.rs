//! A netlink session for `nlmonctl batch`: one NETLINK_ROUTE socket, opened once in the target
//! namespace, reused by every call (the socket stays bound to the namespace it was opened in,
//! whatever thread uses it later). Sequence numbers come from the socket layer's one counter.
//!
//! The methods are synchronous: a batch runs its lines one after another, and a blocking call on
//! the JS thread costs less than a round trip through libuv's pool for each of thousands of
//! small requests. The work is the same `link.rs` code the one-shot exports run.

use napi_derive::napi;

use crate::js::{self, CreateLinkRequest, LinkChange, LinkInfo, LinkRef, Target};
use crate::link;
use crate::netlink::error::guarded;
use crate::netlink::error::{Error, Result};
use crate::netlink::netns;
use crate::netlink::socket::NlSocket;
use crate::task::napi_error;

#[napi]
pub struct NetlinkSession {
    sock: Option<NlSocket>,
}

fn napi_result<T>(result: Result<T>) -> napi::Result<T> {
    result.map_err(napi_error)
}

impl NetlinkSession {
    fn with<T>(&mut self, op: impl FnOnce(&mut NlSocket) -> Result<T>) -> napi::Result<T> {
        napi_result(guarded(|| match self.sock.as_mut() {
            Some(sock) => op(sock),
            None => Err(Error::Arg("the netlink session is closed".into())),
        }))
    }
}

#[napi]
impl NetlinkSession {
    /// Open the session's socket in `target.netns` (or in this process's namespace).
    #[napi(factory)]
    pub fn open(target: Option<Target>) -> napi::Result<Self> {
        let netns = js::netns_of(target);
        let sock = napi_result(guarded(|| netns::run_in(netns.as_deref(), NlSocket::open)))?;
        Ok(NetlinkSession { sock: Some(sock) })
    }

    #[napi]
    pub fn create_link(&mut self, req: CreateLinkRequest) -> napi::Result<LinkInfo> {
        let req = napi_result(link::NewLink::try_from(req))?;
        self.with(|sock| link::create(sock, &req))
    }

    #[napi]
    pub fn get_link(&mut self, link_ref: LinkRef) -> napi::Result<LinkInfo> {
        let r = napi_result(link::LinkRef::try_from(link_ref))?;
        self.with(|sock| link::get(sock, &r).map(|l| link::to_js(&l)))
    }

    /// A JSON array of LinkInfo (see listLinksJson).
    #[napi]
    pub fn list_links_json(&mut self, kind: Option<String>) -> napi::Result<String> {
        self.with(|sock| link::list_info_json(sock, kind.as_deref()))
    }

    #[napi]
    pub fn delete_link(
        &mut self,
        link_ref: LinkRef,
        expect_kind: Option<String>,
    ) -> napi::Result<LinkInfo> {
        let r = napi_result(link::LinkRef::try_from(link_ref))?;
        self.with(|sock| link::delete(sock, &r, expect_kind.as_deref()))
    }

    #[napi]
    pub fn set_link(
        &mut self,
        link_ref: LinkRef,
        change: LinkChange,
        expect_kind: Option<String>,
    ) -> napi::Result<LinkInfo> {
        let r = napi_result(link::LinkRef::try_from(link_ref))?;
        let change = napi_result(link::Change::try_from(change))?;
        self.with(|sock| link::set(sock, &r, &change, expect_kind.as_deref()))
    }

    /// Close the socket now (it is closed anyway when the object is collected).
    #[napi]
    pub fn close(&mut self) {
        self.sock = None;
    }
}
