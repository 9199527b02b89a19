// Ephemeral nlmon links: created by capture/trace for the length of one run, marked as ours in the
// alias (with our pid and that process's start time, so a recycled pid is not mistaken for us), and
// removed on every way out. prune removes those whose owner is gone (after a SIGKILL). The link
// requests themselves are in operations.ts; this is who owns which link.

import { readFileSync } from 'node:fs'
import { isNlmon, type IpLink } from './ip-link.js'

export const EPHEMERAL_PREFIX = 'nlmonctl-ephemeral'
export const EPHEMERAL_NAME = 'nlmonctl%d'

export interface Owner {
  pid: number
  /** Field 22 of /proc/PID/stat (clock ticks since boot); undefined when the alias predates it. */
  start?: number
}

/** The start time of a process, or undefined when it does not exist. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const start = Number(fields[19]) // field 22 overall
    return Number.isFinite(start) ? start : undefined
  } catch {
    return undefined
  }
}

export function ephemeralAlias(owner: Owner): string {
  return owner.start === undefined
    ? `${EPHEMERAL_PREFIX} pid=${owner.pid}`
    : `${EPHEMERAL_PREFIX} pid=${owner.pid} start=${owner.start}`
}

/** The owner an alias names, or undefined for links that are not ephemeral ones of ours. */
export function parseEphemeralAlias(alias: string | undefined | null): Owner | undefined {
  const match = /^nlmonctl-ephemeral pid=([0-9]+)(?: start=([0-9]+))?$/.exec(alias ?? '')
  if (!match) return undefined
  return { pid: Number(match[1]), start: match[2] === undefined ? undefined : Number(match[2]) }
}

/** Whether the owner process still runs (same pid and, when recorded, the same start time). */
export function ownerAlive(owner: Owner, startOf: (pid: number) => number | undefined = processStart): boolean {
  const start = startOf(owner.pid)
  if (start === undefined) return false
  return owner.start === undefined || owner.start === start
}

export function selfOwner(): Owner {
  return { pid: process.pid, start: processStart(process.pid) }
}

/** The nlmon links whose ephemeral owner is gone. */
export function orphans(links: readonly IpLink[], alive: (owner: Owner) => boolean = (o) => ownerAlive(o)): IpLink[] {
  return links.filter((link) => {
    if (!isNlmon(link)) return false
    const owner = parseEphemeralAlias(link.ifalias)
    return owner !== undefined && !alive(owner)
  })
}
