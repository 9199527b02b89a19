//! `NetlinkSession`, the JS class over `link::Session` for `nlmonctl batch`: one socket for many
//! requests. The methods are synchronous: a batch runs its lines one after another, and a
//! blocking call on the JS thread costs less than a round trip through libuv's pool for each of
//! thousands of small requests. They answer with the same bytes as the one-shot exports.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::task::sync;
use super::types::{netns_of, CreateLinkRequest, LinkChange, LinkRef, Target};
use crate::link::{self, LinkAttrs, NewLink};

#[napi]
pub struct NetlinkSession {
    inner: link::Session,
}

#[napi]
impl NetlinkSession {
    /// Open the session's socket in `target.netns` (or in this process's namespace).
    #[napi(factory, catch_unwind)]
    pub fn open(target: Option<Target>) -> napi::Result<Self> {
        let netns = netns_of(target);
        let inner = sync(|| link::Session::open(netns.as_deref()))?;
        Ok(NetlinkSession { inner })
    }

    /// createLink on this session's socket: the same bytes.
    #[napi(catch_unwind)]
    pub fn create_link(&mut self, req: CreateLinkRequest) -> napi::Result<Buffer> {
        sync(|| self.inner.create_link(&NewLink::try_from(req)?)).map(Buffer::from)
    }

    /// getLink on this session's socket: the same bytes.
    #[napi(catch_unwind)]
    pub fn get_link(&mut self, link_ref: LinkRef) -> napi::Result<Buffer> {
        sync(|| self.inner.get_link(&link::LinkRef::try_from(link_ref)?)).map(Buffer::from)
    }

    /// listLinks on this session's socket: the same bytes.
    #[napi(catch_unwind)]
    pub fn list_links(&mut self, kind: Option<String>) -> napi::Result<Buffer> {
        sync(|| self.inner.list_links(kind.as_deref())).map(Buffer::from)
    }

    /// deleteLink on this session's socket: the same bytes.
    #[napi(catch_unwind)]
    pub fn delete_link(
        &mut self,
        link_ref: LinkRef,
        expect_kind: Option<String>,
    ) -> napi::Result<Buffer> {
        sync(|| {
            let r = link::LinkRef::try_from(link_ref)?;
            self.inner.delete_link(&r, expect_kind.as_deref())
        })
        .map(Buffer::from)
    }

    /// setLink on this session's socket: the same bytes.
    #[napi(catch_unwind)]
    pub fn set_link(
        &mut self,
        link_ref: LinkRef,
        change: LinkChange,
        expect_kind: Option<String>,
    ) -> napi::Result<Buffer> {
        sync(|| {
            let r = link::LinkRef::try_from(link_ref)?;
            let change = LinkAttrs::try_from(change)?;
            self.inner.set_link(&r, &change, expect_kind.as_deref())
        })
        .map(Buffer::from)
    }

    /// Close the socket now (it is closed anyway when the object is collected).
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner.close();
    }
}
