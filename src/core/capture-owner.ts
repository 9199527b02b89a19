// --only-cmd: which netlink messages belong to a process tree. While the command runs, its
// process tree is sampled: every netlink socket it holds (socket inodes in /proc/PID/fd matched
// against /proc/PID/net/netlink) gives a port id, and every pid of the tree is a likely port id
// too (the kernel's autobind gives a process's first netlink socket its pid as port id, so a
// socket that lived between two samples is still recognised).
//
// A message is the command's when its nlmsg_pid is one of those port ids (replies, dump parts,
// ACKs and notifications the command caused carry the requester's port); a request whose
// nlmsg_pid is 0 (most tools leave it 0) is the command's when the first reply with the same
// family and sequence number that follows it goes to one of those ports.

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

/** The records that belong to the sampled process tree, in their original order. */
export function filterOwned(records: readonly NlRecord[], owned: Ports): NlRecord[] {
  const mine = (port: number) => owned.ports.has(port) || owned.pids.has(port)
  // Requests sent with port id 0 wait, per (family, seq), for the first reply to a port that has
  // not answered that (family, seq) yet: replies claim the waiting requests in order, one each
  // (further replies to the same port — dump parts, the final ACK — belong to the same request).
  const waiting = new Map<string, number[]>()
  const claimed = new Set<string>()
  const owner = new Map<number, number>()
  records.forEach((r, i) => {
    const key = `${r.family_id}/${r.seq}`
    if (r.flags_raw & 1) {
      if (r.port === 0) waiting.set(key, [...(waiting.get(key) ?? []), i])
      return
    }
    const byPort = `${key}/${r.port}`
    if (claimed.has(byPort)) return
    const queue = waiting.get(key)
    if (!queue || queue.length === 0) return
    claimed.add(byPort)
    owner.set(queue.shift() as number, r.port)
  })
  return records.filter((r, i) => {
    if (r.port !== 0) return mine(r.port)
    const answeredTo = owner.get(i)
    return answeredTo !== undefined && mine(answeredTo)
  })
}
