//! Every process remembered, alive or gone, and the tree `--pid` keeps.

use std::collections::{HashMap, HashSet, VecDeque};

use super::events::Event;
use super::procfs::{read_status, Status};

/// How far a message's stamp may lie outside a process's life (fork to exit) and still be its:
/// the two clocks (the ring's realtime stamp moved by an offset, the events' monotonic one)
/// agree to well within this. A pid reused inside it names nobody (two candidates).
pub(super) const CLOCK_SLACK_NS: u64 = 2_000_000;
/// Exited processes remembered (the capture's writer may be this far behind the events).
const GONE_KEPT: usize = 16_384;

/// One process as remembered: from a /proc read at fork, exec or start, until its exit.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) tgid: u32,
    inner: u32,
    pub(super) comm: Option<String>,
    pub(super) cmdline: Option<Vec<String>>,
    /// Fork time (CLOCK_MONOTONIC ns); 0 when it ran before the capture.
    since_ns: u64,
    until_ns: Option<u64>,
}

impl Entry {
    fn alive_at(&self, t: Option<u64>) -> bool {
        match t {
            None => self.until_ns.is_none(),
            Some(t) => {
                self.since_ns <= t.saturating_add(CLOCK_SLACK_NS)
                    && self
                        .until_ns
                        .is_none_or(|u| t <= u.saturating_add(CLOCK_SLACK_NS))
            }
        }
    }
}

/// The processes `--pid` keeps: the root and every descendant, those forked later included.
#[derive(Debug, Clone)]
pub(super) struct Tree {
    root: u32,
    /// false: the descendants only (`trace --only-cmd`: nlmonctl's children, not itself).
    with_root: bool,
    members: HashSet<u32>,
}

impl Tree {
    /// The tree of `root` from a parent → children map of /proc as it is now.
    pub(super) fn of(root: u32, with_root: bool, children: &HashMap<u32, Vec<u32>>) -> Tree {
        let mut members = HashSet::new();
        let mut todo = vec![root];
        while let Some(pid) = todo.pop() {
            if members.insert(pid) {
                todo.extend(children.get(&pid).into_iter().flatten());
            }
        }
        Tree {
            root,
            with_root,
            members,
        }
    }

    pub(super) fn contains(&self, pid: u32) -> bool {
        (self.with_root || pid != self.root) && self.members.contains(&pid)
    }

    /// `pid` joins when `ancestor` (its parent, or a parent's parent, as /proc shows it now) is
    /// a member: a fork no event told.
    pub(super) fn adopt(&mut self, pid: u32, ancestor: u32) -> bool {
        let joins = self.members.contains(&ancestor);
        if joins {
            self.members.insert(pid);
        }
        joins
    }
}

/// What the events and /proc reads told: every process remembered, by its autobind port.
#[derive(Default)]
pub(super) struct Table {
    /// Remembered processes by their pid in their own namespace (= their first port id).
    by_inner: HashMap<u32, Vec<Entry>>,
    /// tgid → `inner` of the process holding that tgid now.
    pub(super) current: HashMap<u32, u32>,
    /// Exits in order: (inner, tgid, until), the oldest forgotten first.
    gone: VecDeque<(u32, u32, u64)>,
    /// Every event sent before this time has been read (CLOCK_MONOTONIC ns).
    pub(super) caught_up_ns: u64,
    /// The event reader stopped (an error): nobody waits for it.
    pub(super) reader_ended: bool,
    /// Events the connector socket dropped (ENOBUFS).
    pub(super) lost: u64,
    pub(super) tree: Option<Tree>,
    /// Read each process's argv at its exec (--cmdline).
    cmdline: bool,
}

impl Table {
    /// Empty; `cmdline`: read each process's argv at its exec.
    pub(super) fn new(cmdline: bool) -> Table {
        Table {
            cmdline,
            ..Table::default()
        }
    }

    fn current_mut(&mut self, tgid: u32) -> Option<&mut Entry> {
        let inner = *self.current.get(&tgid)?;
        self.by_inner
            .get_mut(&inner)?
            .iter_mut()
            .rev()
            .find(|e| e.tgid == tgid && e.until_ns.is_none())
    }

    fn end(&mut self, tgid: u32, at: u64) {
        if let Some(entry) = self.current_mut(tgid) {
            entry.until_ns = Some(at);
            let inner = entry.inner;
            self.gone.push_back((inner, tgid, at));
        }
        self.current.remove(&tgid);
        while self.gone.len() > GONE_KEPT {
            let Some((inner, tgid, until)) = self.gone.pop_front() else {
                break;
            };
            if let Some(list) = self.by_inner.get_mut(&inner) {
                list.retain(|e| !(e.tgid == tgid && e.until_ns == Some(until)));
                if list.is_empty() {
                    self.by_inner.remove(&inner);
                }
            }
        }
    }

    pub(super) fn insert(
        &mut self,
        tgid: u32,
        status: &Status,
        since_ns: u64,
        cmdline: Option<Vec<String>>,
    ) {
        // A tgid held again: the previous holder has gone, whether or not its exit was seen.
        if self.current.contains_key(&tgid) {
            self.end(tgid, since_ns);
        }
        self.current.insert(tgid, status.inner);
        self.by_inner.entry(status.inner).or_default().push(Entry {
            tgid,
            inner: status.inner,
            comm: status.comm.clone(),
            cmdline,
            since_ns,
            until_ns: None,
        });
    }

    /// Fill from /proc as it is now (start, and lookups without events).
    pub(super) fn learn_now(&mut self, pid: u32) -> bool {
        match read_status(pid) {
            Some(s) if s.tgid == pid => {
                let cmdline = self
                    .cmdline
                    .then(|| crate::attribution::cmdline(pid))
                    .flatten();
                self.insert(pid, &s, 0, cmdline);
                true
            }
            _ => false,
        }
    }

    pub(super) fn apply(&mut self, event: Event) {
        match event {
            Event::Fork {
                parent,
                child,
                at,
                status,
            } => {
                if let Some(tree) = &mut self.tree {
                    if tree.members.contains(&parent) {
                        tree.members.insert(child);
                    } else {
                        // the pid was used before by a member: this is someone else
                        tree.members.remove(&child);
                    }
                }
                match status {
                    Some(s) => self.insert(child, &s, at, None),
                    None => self.end(child, at),
                }
            }
            Event::Exec {
                tgid,
                at,
                status,
                cmdline,
            } => match (self.current_mut(tgid), status) {
                (Some(entry), Some(s)) => {
                    entry.comm = s.comm;
                    entry.cmdline = cmdline;
                }
                (None, Some(s)) => self.insert(tgid, &s, at, cmdline),
                (_, None) => {}
            },
            Event::Comm { tgid, comm } => {
                if let Some(entry) = self.current_mut(tgid) {
                    entry.comm = Some(comm);
                }
            }
            Event::Exit { tgid, at } => self.end(tgid, at),
        }
    }

    /// The one process that owned port `port` at time `t` by the autobind rule.
    pub(super) fn autobound(&self, port: u32, t: Option<u64>) -> Option<&Entry> {
        let mut alive = self.by_inner.get(&port)?.iter().filter(|e| e.alive_at(t));
        let one = alive.next()?;
        alive.next().is_none().then_some(one)
    }

    pub(super) fn by_tgid(&self, tgid: u32, t: Option<u64>) -> Option<&Entry> {
        let find = |inner: u32| {
            self.by_inner
                .get(&inner)
                .and_then(|l| l.iter().rev().find(|e| e.tgid == tgid && e.alive_at(t)))
        };
        // most processes are numbered alike in their own pid namespace and here
        find(tgid)
            .or_else(|| self.current.get(&tgid).and_then(|inner| find(*inner)))
            .or_else(|| {
                self.gone
                    .iter()
                    .filter(|g| g.1 == tgid && g.0 != tgid)
                    .find_map(|g| find(g.0))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(tgid: u32, inner: u32, comm: &str) -> Status {
        Status {
            tgid,
            ppid: 1,
            inner,
            comm: Some(comm.into()),
        }
    }

    #[test]
    fn a_port_names_the_one_process_alive_then_with_that_number() {
        let mut t = Table::default();
        t.insert(100, &status(100, 100, "old"), 1_000_000_000, None);
        t.end(100, 2_000_000_000);
        t.insert(100, &status(100, 100, "new"), 3_000_000_000, None);
        let at = |t: &Table, ns| t.autobound(100, Some(ns)).and_then(|e| e.comm.clone());
        assert_eq!(at(&t, 1_500_000_000).as_deref(), Some("old"));
        assert_eq!(at(&t, 3_500_000_000).as_deref(), Some("new"));
        assert_eq!(at(&t, 2_500_000_000), None, "nobody held pid 100 then");
        // a process in its own pid namespace numbered 100 there: two candidates, nobody named
        t.insert(7000, &status(7000, 100, "contained"), 3_100_000_000, None);
        assert_eq!(at(&t, 3_500_000_000), None);
        assert_eq!(
            t.by_tgid(7000, Some(3_500_000_000)).map(|e| e.inner),
            Some(100)
        );
    }

    #[test]
    fn forgotten_exits_are_bounded() {
        let mut t = Table::default();
        for pid in 0..(GONE_KEPT as u32 + 10) {
            t.insert(pid + 2, &status(pid + 2, pid + 2, "x"), 1, None);
            t.end(pid + 2, 2);
        }
        assert_eq!(t.gone.len(), GONE_KEPT);
        assert!(t.by_inner.len() <= GONE_KEPT);
        assert!(
            t.autobound(2, Some(1)).is_none(),
            "the oldest exit is forgotten"
        );
    }

    #[test]
    fn the_tree_follows_forks_and_forgets_reused_pids() {
        let mut t = Table {
            tree: Some(Tree {
                root: 10,
                with_root: false,
                members: [10].into_iter().collect(),
            }),
            ..Table::default()
        };
        let fork = |parent, child| Event::Fork {
            parent,
            child,
            at: 5,
            status: Some(status(child, child, "sh")),
        };
        t.apply(fork(10, 11));
        t.apply(fork(11, 12));
        t.apply(fork(99, 13));
        let tree = t.tree.as_ref().map(|tr| {
            (
                tr.contains(10),
                tr.contains(11),
                tr.contains(12),
                tr.contains(13),
            )
        });
        assert_eq!(tree, Some((false, true, true, false)));
        t.apply(Event::Exit { tgid: 12, at: 6 });
        t.apply(fork(99, 12));
        assert_eq!(t.tree.as_ref().map(|tr| tr.contains(12)), Some(false));
    }
}
