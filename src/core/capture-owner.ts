// --only-cmd: which netlink messages belong to a process tree. While the command runs, its
// process tree is sampled: every netlink socket it holds (socket inodes in /proc/PID/fd matched
// against /proc/PID/net/netlink) gives a port id, and every pid of the tree is a likely port id
// too (the kernel's autobind gives a process's first netlink socket its pid as port id, so a
// socket that lived between two samples is still recognised).
//
// A message is the command's when its nlmsg_pid is one of those port ids (replies, dump parts,
// ACKs and notifications the command caused carry the requester's port); a request whose
// nlmsg_pid is 0 (most tools leave it 0) is the command's when the replies that answer it (see
// filterOwned) go to one of those ports.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import type { NlRecord } from './capture-format.js'

export interface Ports {
  pids: Set<number>
  ports: Set<number>
}

export function emptyPorts(): Ports {
  return { pids: new Set(), ports: new Set() }
}

/** The pid and every descendant (through /proc/PID/task/TID/children). */
export function processTree(root: number): number[] {
  const seen = new Set<number>()
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.pop() as number
    if (seen.has(pid)) continue
    seen.add(pid)
    let tasks: string[] = []
    try {
      tasks = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
          if (child.trim() !== '') queue.push(Number(child))
        }
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return [...seen]
}

/** /proc/net/netlink text → socket inode → port id. */
export function parseProcNetlink(text: string): Map<number, number> {
  const map = new Map<number, number>()
  const lines = text.split('\n')
  const header = (lines[0] ?? '').trim().split(/\s+/)
  const pidCol = header.indexOf('Pid')
  const inodeCol = header.indexOf('Inode')
  if (pidCol < 0 || inodeCol < 0) return map
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length <= Math.max(pidCol, inodeCol)) continue
    map.set(Number(cols[inodeCol]), Number(cols[pidCol]))
  }
  return map
}

/** One sample of the tree rooted at `root`, added to `into`. */
export function sample(root: number, into: Ports): void {
  const pids = processTree(root)
  let netlink: Map<number, number> | undefined
  for (const pid of pids) {
    into.pids.add(pid)
    let fds: string[] = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      let target = ''
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const match = /^socket:\[([0-9]+)\]$/.exec(target)
      if (!match) continue
      if (netlink === undefined) {
        try {
          netlink = parseProcNetlink(readFileSync(`/proc/${pid}/net/netlink`, 'utf8'))
        } catch {
          netlink = new Map()
        }
      }
      const port = netlink.get(Number(match[1]))
      if (port !== undefined) into.ports.add(port)
    }
  }
}

const NLMSG_ERROR = 2
const NLMSG_DONE = 3
const NLM_F_REQUEST = 1
const NETLINK_ROUTE = 0

/**
 * Could `reply` answer (or be caused by) `request`? Both share family and seq already. rtnetlink
 * types come in groups of four per object (NEW, DEL, GET, SET: 16–19 links, 20–23 addresses…):
 * a reply or notification stays in its request's group. Other families: anything.
 */
function compatible(request: NlRecord, reply: NlRecord): boolean {
  if (reply.type_id === NLMSG_ERROR || reply.type_id === NLMSG_DONE) return true
  if (request.family_id !== NETLINK_ROUTE) return true
  return request.type_id >= 16 && reply.type_id >= 16 && request.type_id >> 2 === reply.type_id >> 2
}

/**
 * The records that belong to the sampled process tree, in their original order.
 *
 * A request sent with port id 0 is matched to the replies that answer it. Replies of different
 * processes can interleave in any order (two CPUs), and tools such as iproute2 start their
 * sequence numbers at the current time, so concurrent processes share sequence numbers. So:
 * 1. an NLMSG_ERROR (ACK or error) quotes its request's header (type, flags, length, seq): it
 *    claims the first waiting request with exactly that header;
 * 2. every other reply (dump parts, NLMSG_DONE, a GET's answer, notifications carrying the
 *    requester's port) claims, once per (family, seq, port), the first waiting request of the same
 *    family, seq and object type.
 * Only two requests with identical headers sent at the same moment can still be swapped.
 */
export function filterOwned(records: readonly NlRecord[], owned: Ports): NlRecord[] {
  const keep = ownedIndexes(records, owned)
  return records.filter((_, i) => keep.has(i))
}

/** filterOwned's choice, as the indexes of the records kept. */
export function ownedIndexes(records: readonly NlRecord[], owned: Ports): Set<number> {
  const mine = (port: number) => owned.ports.has(port) || owned.pids.has(port)
  const waiting = new Map<string, number[]>() // family/seq → request indexes, oldest first
  const owner = new Map<number, number>() // request index → the port its replies went to
  const isRequest = (r: NlRecord) => (r.flags_raw & NLM_F_REQUEST) !== 0
  const claim = (key: string, before: number, fits: (request: NlRecord) => boolean, port: number) => {
    const queue = waiting.get(key)
    if (!queue) return false
    const at = queue.findIndex((i) => i < before && fits(records[i]))
    if (at < 0) return false
    owner.set(queue[at], port)
    queue.splice(at, 1)
    return true
  }
  records.forEach((r, i) => {
    if (isRequest(r) && r.port === 0) {
      const key = `${r.family_id}/${r.seq}`
      waiting.set(key, [...(waiting.get(key) ?? []), i])
    }
  })
  const answered = new Set<string>() // family/seq/port whose request is known
  records.forEach((r, i) => {
    const e = r.error
    if (isRequest(r) || r.type_id !== NLMSG_ERROR || e?.request_type_id === undefined) return
    const exact = (q: NlRecord) =>
      q.type_id === e.request_type_id && q.flags_raw === e.request_flags_raw && q.len === e.request_len
    if (claim(`${r.family_id}/${e.request_seq}`, i, exact, r.port))
      answered.add(`${r.family_id}/${e.request_seq}/${r.port}`)
  })
  records.forEach((r, i) => {
    // an NLMSG_ERROR that quotes a request nobody waits for (not captured) answers nothing else
    if (isRequest(r) || r.port === 0 || r.error?.request_type_id !== undefined) return
    const group = `${r.family_id}/${r.seq}/${r.port}`
    if (answered.has(group)) return
    if (claim(`${r.family_id}/${r.seq}`, i, (q) => compatible(q, r), r.port)) answered.add(group)
  })
  const keep = new Set<number>()
  records.forEach((r, i) => {
    const answeredTo = r.port !== 0 ? r.port : owner.get(i)
    if (answeredTo !== undefined && mine(answeredTo)) keep.add(i)
  })
  return keep
}
