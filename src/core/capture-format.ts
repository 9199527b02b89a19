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
  genl?: { cmd: number; cmd_name?: string; version: number }
  error?: {
    errno: number
    name: string
    message?: string
    extack?: string
    extack_offset?: number
    request_type?: string
    request_seq?: number
    request_type_id?: number
    request_flags_raw?: number
    request_len?: number
  }
  attrs?: Record<string, string | number>
  malformed?: string
  hex?: string
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

/** `12:00:01.123456 to-kernel route RTM_NEWLINK REQUEST|ACK|EXCL|CREATE seq=5 port=0 len=56 ifname=dm0 kind=dummy` */
export function formatRecord(r: NlRecord): string {
  const time = r.time.slice(11, 26)
  const parts = [time, r.dir, r.family, r.type]
  if (r.genl) parts.push(r.genl.cmd_name ?? `cmd=${r.genl.cmd}`)
  parts.push(r.flags.length > 0 ? r.flags.join('|') : '-')
  parts.push(`seq=${r.seq}`, `port=${r.port}`, `len=${r.len}`)
  if (r.error) {
    if (r.error.errno === 0) {
      parts.push(r.type === 'NLMSG_DONE' ? 'done' : `ACK${r.error.request_type ? ` of ${r.error.request_type}` : ''}`)
    } else {
      let text = `error=${r.error.name} (${r.error.message ?? ''})`
      if (r.error.request_type) text += ` of ${r.error.request_type}`
      if (r.error.extack) text += ` extack=${JSON.stringify(r.error.extack)}`
      parts.push(text)
    }
  }
  if (r.attrs) {
    for (const [key, value] of Object.entries(r.attrs)) parts.push(`${key}=${quote(value)}`)
  }
  if (r.malformed) parts.push(`MALFORMED: ${r.malformed}`)
  let line = parts.join(' ')
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
    types: types.map((t) => ({ family: t.family, type: t.typeName, messages: t.messages })),
  }
}

export function formatSummary(s: Summary, shown?: number): string {
  const lines = [
    `${s.messages} messages in ${s.packets} packets (${s.bytes} bytes); kernel drops: ${s.kernel_drops}; ` +
      `queue drops: ${s.queue_drops} (peak ${mib(s.queue_peak_bytes)} of ${mib(s.queue_limit_bytes)} MiB); userspace drops: ${s.user_drops}` +
      (s.files > 1 ? `; written: ${s.written} packets in ${s.files} files` : '') +
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
