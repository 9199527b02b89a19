// Decoded netlink records (as the native decoder emits them, one JSON object per line) and their
// one-line text form; the end-of-capture summary.

import type { CaptureStats, TypeCount } from '../../native/index.js'

export interface NlRecord {
  time: string
  packet: number
  dir: 'to-kernel' | 'to-user' | 'unknown'
  family: string
  family_id: number
  type: string
  type_id: number
  flags: string[]
  flags_raw: number
  seq: number
  port: number
  len: number
  /** Generic netlink: where `type` (the family name) came from. */
  family_source?: 'kernel' | 'file' | 'fixed' | 'unknown'
  /** `op`: the family's YNL spec operation the command is (`get-interface`), by direction. */
  genl?: { cmd: number; cmd_name?: string; op?: string; version: number }
  error?: {
    errno: number
    /** The errno name; `ACK` (NLMSG_ERROR) or `DONE` (NLMSG_DONE) for 0. */
    name: string
    message?: string
    /** The kernel's extended-ACK text: on an error, or a warning on an ACK or DONE. */
    extack?: string
    extack_offset?: number
    /** The attribute of the echoed request at extack_offset, by its C name from the YNL spec (`IFLA_ADDRESS`, `IFLA_LINKINFO/IFLA_INFO_KIND`). */
    extack_attr?: string
    extack_miss_type?: number
    extack_miss_nest?: number
    extack_cookie?: string
    extack_policy?: Record<string, string | number>
    request_type?: string
    request_seq?: number
    request_type_id?: number
    request_flags_raw?: number
    request_len?: number
    request_port?: number
  }
  /** NETLINK_CONNECTOR: the struct cn_msg of an NLMSG_DONE, and its proc event. */
  connector?: {
    idx: number
    val: number
    seq: number
    ack: number
    len: number
    flags: number
    name?: string
    mcast_op?: string
    proc_event?: {
      what: string
      what_raw: number
      cpu: number
      timestamp_ns: number
      fields: Record<string, number>
      comm?: string
    }
  }
  /** NETLINK_KOBJECT_UEVENT: `ACTION@DEVPATH`, then `KEY=value` lines. */
  uevent?: string[]
  not_decoded?: string
  attrs?: Record<string, string | number>
  /** Every attribute, from the family's YNL spec (the kernel's Documentation/netlink/specs). */
  decoded?: Decoded
  malformed?: string
  /** Cut by the capture's snap length inside this message: decoded as far as the bytes go. */
  truncated?: boolean
  hex?: string
  /** Who sent it (or owns the port it is addressed to); absent when unknown. See schema/capture-record.v1.json. */
  process?: NlProcess
}

/** The process behind a message: pid/tid as nlmonctl's pid namespace sees them, and how it was known. */
export interface NlProcess {
  pid: number
  /** The sending thread (eBPF); absent with source 'proc'. */
  tid?: number
  comm: string
  source: 'bpf' | 'proc'
  cmdline?: string[]
}

/** A message decoded by its YNL spec: the operation, the fixed header's members, every attribute. */
export interface Decoded {
  spec: string
  op?: string
  fixed?: Record<string, unknown>
  attrs: DecodedAttr[]
}

/** One attribute: exactly one of value / struct / attrs / hex carries its content (hex may join struct). */
export interface DecodedAttr {
  name: string
  type: number
  value?: string | number | boolean | (string | number)[]
  /** The number behind an enum name or a list of flags. */
  raw?: number
  struct?: Record<string, unknown>
  attrs?: DecodedAttr[]
  hex?: string
  /** The spec has no attribute of this type. */
  unknown?: boolean
  error?: string
}

export function parseRecords(text: string): NlRecord[] {
  if (text === '') return []
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as NlRecord)
}

function quote(value: string | number): string {
  return typeof value === 'number' || /^[\w.:/%-]+$/.test(value) ? String(value) : JSON.stringify(value)
}

/** A value of the tree as text: names and numbers bare, strings quoted when they are not one word. */
function show(value: unknown): string {
  if (Array.isArray(value)) return value.map(show).join('|') || '-'
  if (typeof value === 'string') return quote(value)
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(' ')}}`
  return String(value)
}

/** The tree under a record's line (--verbose): 4 spaces per level, like tshark -V. */
export function formatTree(d: Decoded): string[] {
  const lines = [`    ${d.spec}${d.op ? ` ${d.op}` : ''}`]
  if (d.fixed) lines.push(`    header: ${show(d.fixed)}`)
  const walk = (attrs: DecodedAttr[], depth: number) => {
    const pad = ' '.repeat(4 * depth)
    for (const a of attrs) {
      let text = `${pad}${a.name}`
      if (a.unknown) text += ` (type ${a.type}, not in the spec)`
      const parts: string[] = []
      if (a.value !== undefined) parts.push(show(a.value) + (a.raw !== undefined ? ` (${a.raw})` : ''))
      if (a.struct) parts.push(show(a.struct))
      if (a.hex !== undefined) parts.push(`0x${a.hex}`)
      if (a.error) parts.push(`ERROR: ${a.error}`)
      lines.push(parts.length > 0 ? `${text}: ${parts.join(' ')}` : `${text}:`)
      if (a.attrs) walk(a.attrs, depth + 1)
    }
  }
  walk(d.attrs, 2)
  return lines
}

/** `12:00:01.123456 to-kernel route RTM_NEWLINK REQUEST|ACK|EXCL|CREATE seq=5 port=0 len=56 ifname=dm0 kind=dummy` */
/** A process as the text line shows it: `ip[4242]`, the comm quoted when it is not one word. */
export function formatProcess(p: NlProcess): string {
  return `${quote(p.comm)}[${p.pid}]`
}

export function formatRecord(r: NlRecord, verbose = false): string {
  const time = r.time.slice(11, 26)
  const parts = [time, r.dir]
  // Who is behind it, right after the direction ("to-kernel ip[4242]"): absent when unknown.
  if (r.process) parts.push(formatProcess(r.process))
  parts.push(r.family, r.type)
  if (r.family_source) parts.push(`family_source=${r.family_source}`)
  if (r.genl) parts.push(r.genl.cmd_name ?? r.genl.op ?? `cmd=${r.genl.cmd}`)
  parts.push(r.flags.length > 0 ? r.flags.join('|') : '-')
  parts.push(`seq=${r.seq}`, `port=${r.port}`, `len=${r.len}`)
  if (r.error) {
    const e = r.error
    if (e.errno === 0) {
      parts.push(r.type === 'NLMSG_DONE' ? 'done' : `ACK${e.request_type ? ` of ${e.request_type}` : ''}`)
      if (e.extack) parts.push(`warning=${JSON.stringify(e.extack)}`)
    } else {
      let text = `error=${e.name} (${e.message ?? ''})`
      if (e.request_type) text += ` of ${e.request_type}`
      if (e.extack) text += ` extack=${JSON.stringify(e.extack)}`
      parts.push(text)
    }
    if (e.extack_attr) parts.push(`at=${e.extack_attr}`)
    else if (e.extack_offset !== undefined) parts.push(`at_offset=${e.extack_offset}`)
    if (e.extack_miss_type !== undefined) parts.push(`missing_type=${e.extack_miss_type}`)
    if (e.extack_miss_nest !== undefined) parts.push(`missing_in_nest_at=${e.extack_miss_nest}`)
    if (e.extack_cookie) parts.push(`cookie=${e.extack_cookie}`)
    if (e.extack_policy) {
      parts.push(
        `policy=${Object.entries(e.extack_policy)
          .map(([k, v]) => `${k}:${v}`)
          .join(',')}`,
      )
    }
  }
  if (r.connector) {
    const c = r.connector
    parts.push(`cn=${c.name ?? `${c.idx}:${c.val}`}`, `cn_seq=${c.seq}`, `cn_len=${c.len}`)
    if (c.mcast_op) parts.push(`op=${c.mcast_op}`)
    const ev = c.proc_event
    if (ev) {
      parts.push(`event=${ev.what}`, `cpu=${ev.cpu}`)
      for (const [key, value] of Object.entries(ev.fields)) parts.push(`${key}=${value}`)
      if (ev.comm !== undefined) parts.push(`comm=${quote(ev.comm)}`)
    }
  }
  // KEY=value as the kernel wrote it; quoted only when it would not stay one word
  if (r.uevent) parts.push(...r.uevent.map((l) => (/[\s"\\]/.test(l) || l === '' ? JSON.stringify(l) : l)))
  if (r.not_decoded) parts.push(`(${r.not_decoded})`)
  if (r.attrs) {
    for (const [key, value] of Object.entries(r.attrs)) parts.push(`${key}=${quote(value)}`)
  }
  if (r.truncated) parts.push('TRUNCATED (snap length)')
  if (r.malformed) parts.push(`MALFORMED: ${r.malformed}`)
  let line = parts.join(' ')
  if (verbose && r.decoded) line += `\n${formatTree(r.decoded).join('\n')}`
  if (r.hex !== undefined) line += `\n  ${r.hex}`
  return line
}

export interface Summary {
  packets: number
  messages: number
  bytes: number
  kernel_packets: number
  kernel_drops: number
  user_drops: number
  written: number
  /** pcap files opened: 0 without -w, 1 with it, more with -C/-G/SIGHUP (removed ones by -W included). */
  files: number
  /** Packets dropped because the queue between the kernel's ring and the file was full. */
  queue_drops: number
  /** Most bytes the queue held at once, and its cap. */
  queue_peak_bytes: number
  queue_limit_bytes: number
  /** Packets whose process is known. */
  attributed: number
  /** Events that could not be recorded (eBPF sends, proc connector events): 0 unless processes may be missing. */
  attribution_lost: number
  types: { family: string; type: string; messages: number }[]
}

export function summarize(stats: CaptureStats, types: TypeCount[]): Summary {
  return {
    packets: stats.packets,
    messages: stats.messages,
    bytes: stats.bytes,
    kernel_packets: stats.kernelPackets,
    kernel_drops: stats.kernelDrops,
    user_drops: stats.userDrops,
    written: stats.written,
    files: stats.files,
    queue_drops: stats.queueDrops,
    queue_peak_bytes: stats.queuePeakBytes,
    queue_limit_bytes: stats.queueLimitBytes,
    attributed: stats.attributed,
    attribution_lost: stats.attributionLost,
    types: types.map((t) => ({ family: t.family, type: t.typeName, messages: t.messages })),
  }
}

export function formatSummary(s: Summary, shown?: number): string {
  const lines = [
    `${s.messages} messages in ${s.packets} packets (${s.bytes} bytes); kernel drops: ${s.kernel_drops}; ` +
      `queue drops: ${s.queue_drops} (peak ${mib(s.queue_peak_bytes)} of ${mib(s.queue_limit_bytes)} MiB); userspace drops: ${s.user_drops}` +
      (s.files > 1 ? `; written: ${s.written} packets in ${s.files} files` : '') +
      (s.attributed > 0 || s.attribution_lost > 0
        ? `; processes named: ${s.attributed} packets` +
          (s.attribution_lost > 0 ? ` (${s.attribution_lost} send events lost)` : '')
        : '') +
      (shown === undefined ? '' : `; shown: ${shown}`),
  ]
  const width = Math.max(0, ...s.types.map((t) => `${t.family} ${t.type}`.length))
  for (const t of s.types) lines.push(`  ${`${t.family} ${t.type}`.padEnd(width)}  ${t.messages}`)
  return lines.join('\n')
}

/** Bytes as MiB with one decimal. */
function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1)
}

/** The live counter line (terminal only). */
export function formatCounter(stats: CaptureStats): string {
  return (
    `${stats.messages} messages, ${stats.bytes} bytes, ${stats.kernelDrops} kernel drops` +
    (stats.queueDrops > 0 ? `, ${stats.queueDrops} queue drops` : '') +
    (stats.userDrops > 0 ? `, ${stats.userDrops} userspace drops` : '')
  )
}
