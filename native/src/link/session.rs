//! The link session of `nlmonctl batch`: one NETLINK_ROUTE socket, opened once in the target
//! namespace and reused by every request (the socket stays bound to the namespace it was opened
//! in, whatever thread uses it later). Same requests, same answers as the one-shot calls.

use super::attrs::{LinkAttrs, NewLink};
use super::requests::{self, LinkRef};
use crate::netlink::error::{Error, Result};
use crate::netlink::netns;
use crate::netlink::socket::NlSocket;

pub struct Session {
    sock: Option<NlSocket>,
}

impl Session {
    /// Open the session's socket in `netns` (or in this process's namespace).
    pub fn open(netns: Option<&str>) -> Result<Self> {
        let sock = netns::run_in(netns, NlSocket::open)?;
        Ok(Session { sock: Some(sock) })
    }

    fn sock(&mut self) -> Result<&mut NlSocket> {
        self.sock
            .as_mut()
            .ok_or_else(|| Error::Arg("the netlink session is closed".into()))
    }

    pub fn create_link(&mut self, req: &NewLink) -> Result<Vec<u8>> {
        requests::create(self.sock()?, req)
    }

    pub fn get_link(&mut self, link: &LinkRef) -> Result<Vec<u8>> {
        requests::get(self.sock()?, link)
    }

    pub fn list_links(&mut self, kind: Option<&str>) -> Result<Vec<u8>> {
        requests::list(self.sock()?, kind)
    }

    pub fn delete_link(&mut self, link: &LinkRef, expect_kind: Option<&str>) -> Result<Vec<u8>> {
        requests::delete(self.sock()?, link, expect_kind)
    }

    pub fn set_link(
        &mut self,
        link: &LinkRef,
        change: &LinkAttrs,
        expect_kind: Option<&str>,
    ) -> Result<Vec<u8>> {
        requests::set(self.sock()?, link, change, expect_kind)
    }

    /// Close the socket now (it is closed anyway when the session is dropped); later requests
    /// fail with EARG.
    pub fn close(&mut self) {
        self.sock = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_after_close_are_refused() {
        let mut session = match Session::open(None) {
            Ok(session) => session,
            Err(e) => panic!("{e}"),
        };
        assert!(session.get_link(&LinkRef::Index(1)).is_ok());
        session.close();
        assert!(matches!(
            session.get_link(&LinkRef::Index(1)),
            Err(Error::Arg(_))
        ));
        assert!(matches!(session.list_links(None), Err(Error::Arg(_))));
    }
}
