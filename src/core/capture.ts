// The capture loop shared by `capture` and `trace`: pick or create the nlmon link (operations.ts, on
// a LinkApi like every link request), open the native capture (ring + pcap writer + decoder run in
// Rust threads), print decoded records as they come, show a live counter on a terminal, print the
// summary, and always put the link back as it was — on a normal end, --count, --duration, SIGINT,
// SIGTERM, SIGHUP or an error.

import { lstatSync, statSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import { once } from 'node:events'
import type * as Addon from '../../native/index.js'
import { formatCounter, formatRecord, formatSummary, parseRecords, summarize, type Summary } from './capture-format.js'
import {
  fromNative,
  NlmonctlError,
  outputExists,
  parseNativeError,
  usageError,
  type OperationContext,
} from './errors.js'
import type { LinkApi } from './link-api.js'
import { DECIMAL_OR_HEX } from './attributes.js'
import { checkLinkArg } from './link-args.js'
import type { IpLink } from './ip-link.js'
import { call, loadAddon, target } from './native.js'
import { acquireCaptureLink, releaseCaptureLink, type CaptureLink } from './operations.js'

export type CaptureSession = Addon.CaptureSession

export interface CaptureRequest {
  /** An existing nlmon link (name or ifindex); otherwise an ephemeral one is created. */
  link?: string
  write?: string
  /** --pcapng: write pcapng whatever the -w name (a name ending in .pcapng is pcapng anyway). */
  pcapng?: boolean
  /** Name the process behind each packet with eBPF (default true; --no-bpf). */
  bpf?: boolean
  /** --cmdline: add each named process's argv. */
  cmdline?: boolean
  /** --no-processes: name none (nothing loaded, no /proc reads). */
  processes?: boolean
  /** --pid: only this process's messages and its descendants' (later ones included). */
  pid?: number
  /** With pid: the descendants only (trace --only-cmd: nlmonctl's children, not nlmonctl). */
  descendantsOnly?: boolean
  /** --comm: only the messages of processes with this command name. */
  comm?: string
  force: boolean
  json: boolean
  hex: boolean
  /** Print each message's attribute tree (`decoded`) under its line. */
  verbose?: boolean
  families?: string[]
  count?: number
  /** Seconds. */
  duration?: number
  bufferMib?: number
  /** Cap of the queue between the kernel's ring and the file, MiB (default: the native layer's). */
  queueMib?: number
  /** -C: a new file before one would exceed this many MB (1,000,000 bytes). */
  rotateMb?: number
  /** -G: a new file every this many seconds (the -w name goes through strftime). */
  rotateSeconds?: number
  /** -W: keep at most this many files. */
  rotateFiles?: number
  /** Runs once the capture is open; the capture stops when it settles. */
  driver?: (signal: AbortSignal) => Promise<void>
  /** Forwarded signals go here (trace: to the command) instead of stopping the capture at once. */
  onSignal?: (signal: NodeJS.Signals) => void
  /** No readiness line: Wireshark shows anything an extcap writes on stderr as an error. */
  quiet?: boolean
}

export interface CaptureResult {
  summary: Summary
  link: IpLink
  ephemeral: boolean
  signal?: NodeJS.Signals
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/** Whether the capture rotates its -w file (-C or -G): then SIGHUP starts a new file instead of ending it, as in tcpdump-based recorders' logrotate recipes. */
export function rotates(req: Pick<CaptureRequest, 'rotateMb' | 'rotateSeconds'>): boolean {
  return req.rotateMb !== undefined || req.rotateSeconds !== undefined
}

/**
 * Refuse a -w path that cannot be written before creating anything (the native open refuses it again,
 * atomically): an empty name, a symlink (never written through, even with --force), a directory that is
 * missing or not one (exit 2), an existing file without --force (exit 4).
 */
export function checkOutput(write: string | undefined, force: boolean): void {
  if (write === undefined || write === '-') return
  if (write === '') throw usageError('-w needs a file name (or - for stdout)')
  let stat: Stats | undefined
  try {
    stat = lstatSync(write)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') checkOutputDir(write)
    return
  }
  if (stat.isSymbolicLink()) throw usageError(`${write} is a symbolic link: captures are never written through one`)
  if (!force) throw outputExists(write)
}

function checkOutputDir(write: string): void {
  const dir = dirname(write)
  let stat: Stats
  try {
    stat = statSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO'
    if (code === 'ENOENT') throw usageError(`cannot write ${write}: its directory ${dir} does not exist`)
    if (code === 'ENOTDIR') throw usageError(`cannot write ${write}: ${dir} is not a directory`)
    return // EACCES and the like: the native open says so, with its own code
  }
  if (!stat.isDirectory()) throw usageError(`cannot write ${write}: ${dir} is not a directory`)
}

/** Write to stdout, waiting when the pipe is full; false once stdout is gone (EPIPE). */
class Out {
  closed = false
  constructor() {
    process.stdout.on('error', () => {
      this.closed = true
    })
  }
  async write(text: string): Promise<void> {
    // A stream destroyed by EPIPE emits neither drain nor error again: waiting for one would never end.
    if (process.stdout.destroyed) this.closed = true
    if (this.closed || text === '') return
    if (!process.stdout.write(text)) {
      if (process.stdout.destroyed) {
        this.closed = true
        return
      }
      const waited = new AbortController() // removes the listeners of the events that did not come
      const signal = waited.signal
      await Promise.race(['drain', 'error', 'close'].map((event) => once(process.stdout, event, { signal }))).catch(
        () => undefined,
      )
      waited.abort()
      if (process.stdout.destroyed) this.closed = true
    }
  }
}

/** Run one live capture (a request prepareCapture/prepareTrace checked), in api's namespace, until its end; the link is always restored. */
export async function runCapture(api: LinkApi, req: CaptureRequest): Promise<CaptureResult> {
  const stopper = new AbortController()
  let received: NodeJS.Signals | undefined
  let session: CaptureSession | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP' && rotates(req)) {
      // Before the capture is open there is no file to rotate yet: nothing to do.
      session?.rotate()
      return
    }
    received ??= signal
    if (req.onSignal) {
      req.onSignal(signal)
      return
    }
    stopper.abort()
    session?.stop()
  }
  for (const s of SIGNALS) process.on(s, onSignal)
  let picked: CaptureLink | undefined
  let ended: NlmonctlError | undefined
  try {
    picked = await acquireCaptureLink(api, req.link)
    if (stopper.signal.aborted) {
      // Interrupted while the link was being set up: nothing was captured; a normal end.
      const empty = {
        packets: 0,
        messages: 0,
        bytes: 0,
        kernelPackets: 0,
        kernelDrops: 0,
        userDrops: 0,
        written: 0,
        files: 0,
        queueDrops: 0,
        queuePeakBytes: 0,
        queueLimitBytes: 0,
        attributed: 0,
        attributionLost: 0,
      }
      return {
        summary: summarize(empty, []),
        link: picked.link,
        ephemeral: picked.ephemeral,
        signal: received,
      }
    }
    const options = {
      ifindex: picked.link.ifindex,
      write: req.write,
      force: req.force,
      pcapng: req.pcapng,
      bpf: req.bpf,
      cmdline: req.cmdline,
      processes: req.processes,
      pid: req.pid,
      descendantsOnly: req.descendantsOnly,
      comm: req.comm,
      decode: req.write === undefined,
      hex: req.hex,
      tree: wantsTree(req),
      families: req.families,
      count: req.count,
      bufferMib: req.bufferMib,
      queueMib: req.queueMib,
      rotateMb: req.rotateMb,
      rotateSeconds: req.rotateSeconds,
      rotateFiles: req.rotateFiles,
    }
    const ctx = { action: 'capture' as const, file: req.write, netns: api.netns, link: picked.link.ifname }
    session = await call(ctx, (native) => native.openCapture(options, target(api.netns)))
    const opened = session
    if (stopper.signal.aborted) opened.stop()
    stopper.signal.addEventListener('abort', () => opened.stop())
    const naming = opened.attribution()
    if (!req.quiet) {
      process.stderr.write(
        `listening on ${picked.link.ifname}${picked.ephemeral ? ' (ephemeral)' : ''}, link-type NETLINK (Linux netlink)` +
          `${req.write ? `, writing ${req.write === '-' ? 'to stdout' : req.write}` : ''}` +
          `${namingNote(naming)}\n`,
      )
      // Said once, on its own line: the capture goes on, naming processes the next best way.
      const fallback = fallbackNote(naming, req.bpf !== false)
      if (fallback !== undefined) process.stderr.write(`nlmonctl: ${fallback}\n`)
    }
    const timers: NodeJS.Timeout[] = []
    if (req.duration !== undefined) timers.push(setTimeout(() => opened.stop(), req.duration * 1000))
    const driven = req.driver ? req.driver(stopper.signal).finally(() => opened.stop()) : undefined
    const drained = await drain(opened, req, ctx)
    for (const t of timers) clearTimeout(t)
    await driven
    const summary = summarize(drained.stats, opened.summary())
    if (drained.error) {
      // The capture ran and then ended on an error (the file's disk full, the link or the namespace
      // gone): what it kept is worth knowing, so the summary comes before the error line.
      ended = drained.error
      printSummary({ summary, link: picked.link, ephemeral: picked.ephemeral }, req)
      throw drained.error
    }
    return {
      summary,
      link: picked.link,
      ephemeral: picked.ephemeral,
      signal: received,
    }
  } finally {
    session?.stop()
    try {
      if (picked)
        await releaseCaptureLink(api, picked).catch((error: unknown) => {
          // The link (or its whole namespace) went away under the capture: nothing left to put back.
          if (
            ended &&
            error instanceof NlmonctlError &&
            (error.code === 'NOT_FOUND' || error.code === 'NETNS_NOT_FOUND')
          )
            return
          throw error
        })
    } finally {
      for (const s of SIGNALS) process.off(s, onSignal)
    }
  }
}

/** The spec-driven tree costs decoding time: made only when JSON or --verbose shows it. */
function wantsTree(req: { json: boolean; verbose?: boolean }): boolean {
  return req.json || req.verbose === true
}

/** Offline: decode a pcap or pcapng file, or (with -w) copy the packets --family/--count keep into another. */
export async function readCapture(req: CaptureRequest & { read: string }): Promise<CaptureResult> {
  const options = {
    decode: req.write === undefined,
    hex: req.hex,
    tree: wantsTree(req),
    families: req.families,
    count: req.count,
    write: req.write,
    force: req.force,
    pcapng: req.pcapng,
  }
  const session = await call({ action: 'capture', file: req.read }, (native) => native.readPcap(req.read, options))
  const onSignal = () => session.stop()
  for (const s of SIGNALS) process.on(s, onSignal)
  try {
    const drained = await drain(session, req, { action: 'capture', file: req.read })
    // Packets of other link types a pcapng file holds (counted, not decoded).
    for (const note of session.notes()) process.stderr.write(`nlmonctl capture: note: ${note}\n`)
    const link = { ifindex: 0, ifname: req.read } as IpLink
    if (drained.error?.code === 'FILE_CUT_SHORT') {
      // Every complete packet was printed: the summary says how many, then the one-line warning.
      const summary = summarize(drained.stats, session.summary())
      printSummary({ summary, link, ephemeral: false }, req)
    }
    if (drained.error) throw drained.error
    return {
      summary: summarize(drained.stats, session.summary()),
      link,
      ephemeral: false,
    }
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal)
  }
}

async function drain(
  session: CaptureSession,
  req: CaptureRequest,
  ctx: OperationContext = { action: 'capture', file: req.write },
): Promise<{ stats: Addon.CaptureStats; error?: NlmonctlError }> {
  const out = new Out()
  const tty = Boolean(process.stderr.isTTY)
  let lastCounter = 0
  for (;;) {
    const batch = await session.next(250)
    if (batch.count > 0 && !out.closed) {
      if (req.json) {
        await out.write(batch.records)
      } else {
        await out.write(
          parseRecords(batch.records)
            .map((r) => formatRecord(r, req.verbose))
            .join('\n') + '\n',
        )
      }
      if (out.closed) session.stop()
    }
    if (tty && (batch.done || Date.now() - lastCounter > 200)) {
      process.stderr.write(`\r\u001B[K${formatCounter(batch.stats)}`)
      lastCounter = Date.now()
    }
    if (batch.done) {
      if (tty) process.stderr.write('\r\u001B[K')
      // A reader that went away (`-w - | head`, the FIFO of a Wireshark that stopped) ends the capture like Ctrl-C would.
      const pipeGone = parseNativeError(new Error(batch.error ?? '')).code === 'EPIPE'
      const error = batch.error && !pipeGone ? fromNative(new Error(batch.error), ctx) : undefined
      return { stats: batch.stats, error }
    }
  }
}

/** The readiness line's words on how processes are named. */
function namingNote(naming: Addon.AttributionInfo): string {
  if (naming.method === 'bpf') return `, processes named by eBPF (${naming.hook ?? ''})`
  if (naming.method === 'proc') return ', processes named from /proc'
  return ''
}

/** The one stderr line when processes are named less well than they could be (not said for --no-bpf's own choice). */
function fallbackNote(naming: Addon.AttributionInfo, bpfWanted: boolean): string | undefined {
  const parts: string[] = []
  if (naming.method === 'proc' && bpfWanted)
    parts.push(`processes named from /proc, not eBPF: ${naming.reason ?? 'unknown'}`)
  if (naming.events)
    parts.push(
      `no proc connector events (${naming.events}): processes that exit before their messages are written go unnamed`,
    )
  return parts.length === 0 ? undefined : parts.join('; ')
}

/** The end-of-capture summary: a line of JSON on stdout with --json (stderr when stdout carries pcap), else text on stderr. */
export function printSummary(result: CaptureResult, req: { json: boolean; write?: string }, shown?: number): void {
  if (req.json) {
    const line = JSON.stringify({ summary: { ...result.summary, ...(shown === undefined ? {} : { shown }) } }) + '\n'
    if (req.write === '-') process.stderr.write(line)
    // A reader that went away (`--json | head -1`) is a clean end: a write to the destroyed stream would
    // leave oclif's flush waiting for a drain that never comes (node exits 13, an unsettled await).
    else if (!process.stdout.destroyed) process.stdout.write(line)
    return
  }
  process.stderr.write(formatSummary(result.summary, shown) + '\n')
}

// ---------------------------------------------------------------------------------------------
// prepare: every check of capture and trace that needs no kernel, made before any link request

/** capture's flags, as parsed. */
export interface CaptureFlags {
  link?: string
  write?: string
  pcapng?: boolean
  bpf?: boolean
  cmdline?: boolean
  processes?: boolean
  pid?: string
  comm?: string
  force?: boolean
  read?: string
  hex?: boolean
  verbose?: boolean
  family?: string
  count?: string
  duration?: string
  'buffer-size'?: string
  'queue-size'?: string
  'rotate-size'?: string
  'rotate-seconds'?: string
  'rotate-files'?: string
}

/** A checked capture: live (runCapture) or, with `read`, from a file (readCapture). */
export type CapturePlan = CaptureRequest & { read?: string }

export async function prepareCapture(flags: CaptureFlags, json: boolean): Promise<CapturePlan> {
  if (flags.read !== undefined && (flags.link !== undefined || flags.duration !== undefined)) {
    throw usageError('-r reads a file: it does not go with --link or --duration')
  }
  if (
    flags.read !== undefined &&
    flags.write !== undefined &&
    [flags['rotate-size'], flags['rotate-seconds'], flags['rotate-files']].some((v) => v !== undefined)
  ) {
    throw usageError('-r -w copies a file into one file: -C, -G and -W rotate live captures only')
  }
  if (flags.read !== undefined) {
    const live = [
      flags.bpf === false && '--no-bpf',
      flags.processes === false && '--no-processes',
      flags.cmdline === true && '--cmdline',
      flags.pid !== undefined && '--pid',
      flags.comm !== undefined && '--comm',
    ].find(Boolean)
    if (live) throw usageError(`-r reads a file, whose processes are its pcapng comments: ${live} is for live captures`)
  }
  checkProcessFlags(flags)
  if (flags.force && flags.write === undefined) throw usageError('--force goes with -w')
  if (flags.link !== undefined) checkLinkArg(flags.link)
  if (flags.write !== undefined && flags.hex) throw usageError('--hex prints decoded messages: it does not go with -w')
  if (flags.write !== undefined && flags.verbose)
    throw usageError('--verbose prints decoded messages: it does not go with -w')
  const plan: CapturePlan = {
    link: flags.link,
    write: flags.write,
    pcapng: flags.pcapng === true,
    bpf: flags.bpf !== false,
    cmdline: flags.cmdline === true,
    processes: flags.processes !== false,
    pid: parsePid(flags.pid),
    comm: parseComm(flags.comm),
    force: flags.force === true,
    json,
    hex: flags.hex === true,
    verbose: flags.verbose === true,
    families: parseFamilies(flags.family),
    count: parsePositive('count', flags.count, true),
    duration: parsePositive('duration', flags.duration, false),
    bufferMib: parsePositive('buffer-size', flags['buffer-size'], true),
    queueMib: parsePositive('queue-size', flags['queue-size'], true),
    rotateMb: parsePositive('rotate-size', flags['rotate-size'], true),
    rotateSeconds: parsePositive('rotate-seconds', flags['rotate-seconds'], true),
    rotateFiles: parsePositive('rotate-files', flags['rotate-files'], true),
    read: flags.read,
  }
  checkOutput(plan.write, plan.force)
  // A file is read without a ring or a queue: --buffer-size and --queue-size are not used (nor checked by the native side).
  await checkNativeOptions(plan.read === undefined ? plan : { ...plan, bufferMib: undefined, queueMib: undefined })
  return plan
}

/** trace's flags, as parsed. */
export interface TraceFlags {
  'only-cmd'?: boolean
  bpf?: boolean
  cmdline?: boolean
  processes?: boolean
  write?: string
  force?: boolean
  hex?: boolean
  verbose?: boolean
  family?: string
  'buffer-size'?: string
}

export interface TracePlan {
  /** CMD and its arguments. */
  command: string[]
  onlyCmd: boolean
  write?: string
  force: boolean
  json: boolean
  hex: boolean
  verbose: boolean
  families?: string[]
  bufferMib?: number
  bpf: boolean
  cmdline: boolean
  processes: boolean
}

export async function prepareTrace(command: readonly string[], flags: TraceFlags, json: boolean): Promise<TracePlan> {
  if (command.length === 0) throw usageError('give the command to run after --, e.g. nlmonctl trace -- ip link show')
  if (flags.force && flags.write === undefined) throw usageError('--force goes with -w')
  checkProcessFlags(flags)
  if (flags['only-cmd'] === true && flags.processes === false)
    throw usageError("--only-cmd keeps CMD's messages by their processes: it does not go with --no-processes")
  checkOutput(flags.write, flags.force === true)
  const plan: TracePlan = {
    command: [...command],
    onlyCmd: flags['only-cmd'] === true,
    write: flags.write,
    force: flags.force === true,
    json,
    hex: flags.hex === true,
    verbose: flags.verbose === true,
    families: parseFamilies(flags.family),
    bufferMib: parsePositive('buffer-size', flags['buffer-size'], true),
    bpf: flags.bpf !== false,
    cmdline: flags.cmdline === true,
    processes: flags.processes !== false,
  }
  await checkNativeOptions(plan)
  return plan
}

/** --no-processes names none: nothing can be selected or described by process then. */
function checkProcessFlags(flags: {
  processes?: boolean
  cmdline?: boolean
  pid?: string
  comm?: string
  bpf?: boolean
}): void {
  if (flags.processes !== false) return
  const needs = [
    flags.pid !== undefined && '--pid',
    flags.comm !== undefined && '--comm',
    flags.cmdline === true && '--cmdline',
  ].find(Boolean)
  if (needs) throw usageError(`${needs} needs processes named: it does not go with --no-processes`)
}

/** The kernel's PID_MAX_LIMIT (include/linux/threads.h): no pid is larger. */
const PID_MAX_LIMIT = 4_194_304

/** --pid: a running process (its descendants are followed from now on). */
function parsePid(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^[1-9][0-9]*$/.test(value) || Number(value) > PID_MAX_LIMIT)
    throw usageError(`--pid must be a process id (1 to ${PID_MAX_LIMIT}), not ${JSON.stringify(value)}`)
  const pid = Number(value)
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, only not ours to signal
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw usageError(`--pid ${pid}: no such process`)
  }
  return pid
}

/** The kernel's TASK_COMM_LEN less its NUL: a longer --comm could never match. */
const COMM_MAX_BYTES = 15

function parseComm(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const bytes = Buffer.byteLength(value)
  if (bytes === 0 || bytes > COMM_MAX_BYTES)
    throw usageError(
      `--comm is a command name of 1 to ${COMM_MAX_BYTES} bytes (the kernel keeps no more), not ${JSON.stringify(value)}`,
    )
  return value
}

/** --family: a comma-separated list of names or numbers. */
function parseFamilies(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const list = value
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
  if (list.length === 0)
    throw usageError('--family needs at least one family (route, generic, netfilter, sock_diag, xfrm, … or a number)')
  return list
}

function parsePositive(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined
  // Plain decimal or 0x digits (a decimal fraction where one is allowed): Number() would take ' 1', '1e3', '0b1'.
  const n = (integer ? DECIMAL_OR_HEX : /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/).test(value) ? Number(value) : NaN
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw usageError(
      `invalid --${flag} ${JSON.stringify(value)}: must be a ${integer ? 'whole number' : 'number'} greater than 0`,
    )
  }
  return n
}

/**
 * The options the native capture checks when it opens (families, count, ring and queue sizes against
 * the memory available), checked by it now: by the time it opens, the capture link would already exist.
 */
async function checkNativeOptions(options: {
  write?: string
  pcapng?: boolean
  families?: string[]
  count?: number
  bufferMib?: number
  queueMib?: number
  rotateMb?: number
  rotateSeconds?: number
  rotateFiles?: number
}): Promise<void> {
  const native = await loadAddon()
  try {
    native.checkCaptureOptions({
      write: options.write,
      pcapng: options.pcapng,
      families: options.families,
      count: options.count,
      bufferMib: options.bufferMib,
      queueMib: options.queueMib,
      rotateMb: options.rotateMb,
      rotateSeconds: options.rotateSeconds,
      rotateFiles: options.rotateFiles,
    })
  } catch (error) {
    throw fromNative(error, { action: 'capture' })
  }
}
