//! Requests named by their answers (a request's nlmsg_pid is the sender's to choose).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::attribution::CapturedPacket;
use crate::capture::decode::Header;

/// A message to a port: (its packet's index in the block, the port, the request header an
/// ACK or error quotes).
pub(super) type Answer = (usize, u32, Option<Header>);

/// How long a request unanswered in its block still counts, in capture time (its answers
/// follow within ms): while it does, a later request like it is not named by answers that
/// could be its.
const REQUEST_KEPT_NS: u64 = 5_000_000_000;
/// Unanswered requests remembered at most.
const REQUESTS_KEPT: usize = 4096;

/// A request no answer in its block was seen for.
#[derive(Debug, Clone, Copy)]
struct Unanswered {
    protocol: u16,
    header: Header,
    at: Option<u64>,
}

/// Requests named by their answers: the one owner of that rule.
///
/// - ACKs and errors quote the request's header, and each answers one request before it. Per
///   header, in capture order (the requests left unanswered by earlier blocks first): an ACK
///   that comes while one request with that header is open names that request. When several
///   are open, the ACK could be any one's: they form a cluster, named only if all of the
///   cluster's ACKs go to one port; a cluster still open at the block's end names nobody.
/// - A request no ACK has answered yet is named by the replies with its sequence number after
///   it, all to one port, when no other request (recent unanswered ones included) has that
///   sequence number.
#[derive(Default)]
pub(super) struct Requests {
    unanswered: VecDeque<Unanswered>,
}

/// The requests with one header that are open (no ACK yet), while a block is read.
#[derive(Default)]
struct Open {
    /// This block's requests (packet index) or earlier ones (None), in order.
    requests: Vec<Option<usize>>,
    /// Open requests one of which each ACK so far answered, and those ACKs' ports.
    cluster: Vec<Option<usize>>,
    cluster_ports: Vec<u32>,
    /// How many of the cluster are still open.
    cluster_open: usize,
}

impl Open {
    fn request(&mut self, i: Option<usize>) {
        if self.cluster_open > 0 {
            self.cluster.push(i);
            self.cluster_open += 1;
        } else {
            self.requests.push(i);
        }
    }

    /// An ACK to `port`: the requests it names.
    fn ack(&mut self, port: u32, named: &mut Vec<(usize, u32)>) {
        if self.cluster_open > 0 {
            self.cluster_ports.push(port);
            self.cluster_open -= 1;
            if self.cluster_open == 0 {
                if self.cluster_ports.iter().all(|p| *p == port) {
                    named.extend(self.cluster.iter().flatten().map(|i| (*i, port)));
                }
                self.cluster.clear();
                self.cluster_ports.clear();
            }
            return;
        }
        match self.requests.len() {
            // answers a request the capture did not see (before it started, or lost)
            0 => {}
            1 => {
                named.extend(self.requests.drain(..).flatten().map(|i| (i, port)));
            }
            n => {
                self.cluster = std::mem::take(&mut self.requests);
                self.cluster_ports = vec![port];
                self.cluster_open = n - 1;
            }
        }
    }

    /// Still open at the block's end: (plainly open, in a cluster).
    fn left(&self) -> (&[Option<usize>], usize) {
        (&self.requests, self.cluster_open)
    }
}

/// A request's identity as its ACK quotes it: protocol and the whole header.
type HeaderKey = (u16, u32, u16, u16, u32, u32);

fn header_key(protocol: u16, h: &Header) -> HeaderKey {
    (protocol, h.len, h.msg_type, h.flags, h.seq, h.port)
}

impl Requests {
    /// (packet index, port) of the requests the block's answers name.
    pub(super) fn answer(
        &mut self,
        packets: &[CapturedPacket<'_>],
        requests: &[(usize, Header)],
        to_user: &HashMap<(u16, u32), Vec<Answer>>,
        newest: Option<u64>,
    ) -> Vec<(usize, u32)> {
        if let Some(now) = newest {
            self.unanswered.retain(|u| {
                u.at.is_none_or(|at| at.saturating_add(REQUEST_KEPT_NS) >= now)
            });
        }
        // How many requests, earlier unanswered ones and this block's, have each sequence number.
        let mut seq_count: HashMap<(u16, u32), usize> = HashMap::new();
        for (protocol, seq) in self
            .unanswered
            .iter()
            .map(|u| (u.protocol, u.header.seq))
            .chain(requests.iter().map(|(i, r)| (packets[*i].protocol, r.seq)))
        {
            *seq_count.entry((protocol, seq)).or_insert(0) += 1;
        }
        // Requests and ACKs in capture order, per header.
        let mut events: Vec<(usize, u16, Header, Option<u32>)> = requests
            .iter()
            .map(|&(i, h)| (i, packets[i].protocol, h, None))
            .collect();
        for (&(protocol, _), answers) in to_user {
            for (i, port, quoted) in answers {
                if let Some(q) = quoted {
                    events.push((*i, protocol, *q, Some(*port)));
                }
            }
        }
        events.sort_by_key(|e| e.0);
        let mut open: HashMap<HeaderKey, (Unanswered, Open)> = HashMap::new();
        for u in &self.unanswered {
            let (last, o) = open
                .entry(header_key(u.protocol, &u.header))
                .or_insert_with(|| (*u, Open::default()));
            o.request(None);
            *last = *u;
        }
        let mut named = Vec::new();
        let mut acked: HashSet<usize> = HashSet::new();
        for (i, protocol, header, ack) in events {
            let (last, o) = open
                .entry(header_key(protocol, &header))
                .or_insert_with(|| {
                    let u = Unanswered {
                        protocol,
                        header,
                        at: packets[i].captured_ns,
                    };
                    (u, Open::default())
                });
            match ack {
                None => {
                    o.request(Some(i));
                    last.at = packets[i].captured_ns;
                }
                Some(port) => {
                    acked.extend(o.requests.iter().chain(&o.cluster).flatten());
                    o.ack(port, &mut named);
                }
            }
        }
        // Requests no ACK has touched: named by their replies, when their sequence number is
        // theirs alone.
        for &(i, request) in requests {
            let protocol = packets[i].protocol;
            if acked.contains(&i) || seq_count.get(&(protocol, request.seq)) != Some(&1) {
                continue;
            }
            let mut replies = to_user
                .get(&(protocol, request.seq))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|(j, _, quoted)| *j > i && quoted.is_none())
                .map(|(_, port, _)| *port);
            let Some(first) = replies.next() else {
                continue;
            };
            if replies.all(|p| p == first) {
                named.push((i, first));
            }
        }
        let mut left: Vec<Unanswered> = open
            .values()
            .flat_map(|(last, o)| {
                let (plain, clustered) = o.left();
                std::iter::repeat_n(*last, plain.len() + clustered)
            })
            .collect();
        // the oldest are forgotten first
        left.sort_by_key(|u| u.at);
        let excess = left.len().saturating_sub(REQUESTS_KEPT);
        self.unanswered = left.into_iter().skip(excess).collect();
        named
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::capture::decode::header;

    /// An nlmsghdr with `payload` after it.
    pub(in crate::attribution::proc) fn message(
        msg_type: u16,
        flags: u16,
        seq: u32,
        port: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&msg_type.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&port.to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

    /// Blocks of packets as `ProcEngine::attribute` splits them, through `Requests::answer`:
    /// which request packets it names, by which port.
    fn answer_blocks(blocks: &[Vec<Vec<u8>>]) -> Vec<Vec<(usize, u32)>> {
        let mut requests = Requests::default();
        blocks
            .iter()
            .enumerate()
            .map(|(b, block)| {
                let at = Some(b as u64 * 1_000_000);
                let views: Vec<CapturedPacket<'_>> = block
                    .iter()
                    .map(|data| {
                        let h = header(data).unwrap_or_else(|| panic!("header"));
                        CapturedPacket {
                            protocol: 0,
                            pkttype: if h.flags & 1 != 0 { 7 } else { 6 },
                            captured_ns: at,
                            data,
                        }
                    })
                    .collect();
                let mut asked = Vec::new();
                let mut to_user: HashMap<(u16, u32), Vec<Answer>> = HashMap::new();
                for (i, v) in views.iter().enumerate() {
                    let Some(h) = header(v.data) else { continue };
                    if v.pkttype == 7 {
                        asked.push((i, h));
                    } else {
                        let quoted = (h.msg_type == 2)
                            .then(|| v.data.get(20..36).and_then(header))
                            .flatten();
                        to_user
                            .entry((0, h.seq))
                            .or_default()
                            .push((i, h.port, quoted));
                    }
                }
                requests.answer(&views, &asked, &to_user, at)
            })
            .collect()
    }

    fn ack_of(request: &[u8], port: u32) -> Vec<u8> {
        let h = header(request).unwrap_or_else(|| panic!("header"));
        let mut error = 0i32.to_ne_bytes().to_vec();
        error.extend_from_slice(&request[..16]);
        message(2, 0x100, h.seq, port, &error)
    }

    #[test]
    fn a_request_is_named_by_its_ack_or_its_replies_alone() {
        let add = message(16, 0x605, 9, 0, &[1; 16]);
        let dump = message(18, 0x301, 10, 0, &[0; 16]);
        let reply = message(16, 0x2, 10, 77, &[0; 16]);
        let done = message(3, 0x2, 10, 77, &[0; 4]);
        assert_eq!(
            answer_blocks(&[vec![
                add.clone(),
                ack_of(&add, 42),
                dump,
                reply.clone(),
                done
            ]]),
            vec![vec![(0, 42), (2, 77)]]
        );
        // replies before the request are not its answers
        assert_eq!(
            answer_blocks(&[vec![reply, message(18, 0x301, 10, 0, &[0; 16])]]),
            vec![vec![]]
        );
    }

    #[test]
    fn identical_requests_are_named_only_when_every_one_has_its_ack_to_one_port() {
        let a = message(16, 0x605, 9, 0, &[1; 16]);
        let b = a.clone(); // same length, type, flags and sequence number: ip run twice in one second
                           // two processes, both ACKs here: nobody
        assert_eq!(
            answer_blocks(&[vec![a.clone(), b.clone(), ack_of(&a, 1), ack_of(&b, 2)]]),
            vec![vec![]]
        );
        // each ACK before the next request: each is the one open request's
        assert_eq!(
            answer_blocks(&[vec![a.clone(), ack_of(&a, 1), b.clone(), ack_of(&b, 2)]]),
            vec![vec![(0, 1), (2, 2)]]
        );
        // a cluster that closes on one port names all of it, on two none of it
        let c = a.clone();
        assert_eq!(
            answer_blocks(&[vec![
                a.clone(),
                b.clone(),
                ack_of(&a, 1),
                c.clone(),
                ack_of(&b, 1),
                ack_of(&c, 1),
                a.clone(),
                b.clone(),
                ack_of(&a, 1),
                ack_of(&b, 2),
            ]]),
            vec![vec![(0, 1), (1, 1), (3, 1)]]
        );
        // one process twice: both named
        assert_eq!(
            answer_blocks(&[vec![a.clone(), b.clone(), ack_of(&a, 1), ack_of(&b, 1)]]),
            vec![vec![(0, 1), (1, 1)]]
        );
        // the second ACK in the next block, where a third request like them has not its own yet:
        // the ACK there is the unanswered one's, not the new request's
        assert_eq!(
            answer_blocks(&[
                vec![a.clone(), b.clone(), ack_of(&a, 1)],
                vec![c.clone(), ack_of(&b, 2)],
                vec![ack_of(&c, 3)],
            ]),
            vec![vec![], vec![], vec![]]
        );
        // a request whose ACK comes a block later still counts when a request like it is answered
        assert_eq!(
            answer_blocks(&[vec![a.clone()], vec![c.clone(), ack_of(&c, 3)]]),
            vec![vec![], vec![]]
        );
        // once its ACK came, it no longer does
        assert_eq!(
            answer_blocks(&[
                vec![a.clone()],
                vec![ack_of(&a, 1)],
                vec![c.clone(), ack_of(&c, 3)]
            ]),
            vec![vec![], vec![], vec![(0, 3)]]
        );
    }

    #[test]
    fn replies_name_a_request_only_when_no_other_request_has_its_sequence_number() {
        let dump = message(18, 0x301, 10, 0, &[0; 16]);
        let other = message(22, 0x301, 10, 0, &[0; 16]);
        let reply = message(16, 0x2, 10, 77, &[0; 16]);
        assert_eq!(
            answer_blocks(&[vec![dump.clone(), other.clone(), reply.clone()]]),
            vec![vec![]]
        );
        // an unanswered one from the block before counts too
        assert_eq!(
            answer_blocks(&[vec![other], vec![dump, reply]]),
            vec![vec![], vec![]]
        );
    }
}
