//! Links, in plain Rust: the one attribute set a request carries (`attrs`), the one decoder of a
//! link message (`decode`), the one shape a link is handed out in (`ip_json`: what
//! `ip -j -s -d link show` prints), the requests that tie them together (`requests`), userspace
//! name patterns (`naming`) and the socket-reusing session of `nlmonctl batch` (`session`).
//!
//! Every request answers with UTF-8 JSON bytes in iproute2's shape: one link object, or an array
//! of them for `list`.

pub mod attrs;
pub mod decode;
pub mod ip_json;
pub mod naming;
pub mod requests;
pub mod session;

pub use attrs::{LinkAttrs, NewLink};
pub use decode::Link;
pub use requests::{create, delete, get, list, set, LinkRef};
pub use session::Session;
