// Error codes, exit codes and the single mapping from native (kernel) errors to them.
// Scripts rely on these: the table below is the contract documented in the README.

export const ExitCode = {
  OK: 0,
  KERNEL_ERROR: 1,
  INVALID_INPUT: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  NOT_NLMON: 5,
  PERMISSION_DENIED: 6,
  NO_NLMON_SUPPORT: 7,
  NETNS_NOT_FOUND: 8,
  /** capture -r: the file ends inside a record; every complete record before it was printed. */
  FILE_CUT_SHORT: 9,
} as const

export type ErrorCode = keyof typeof ExitCode

/** What the kernel (or the native layer) said, as carried across the FFI boundary. */
export interface NativeErrorInfo {
  code: string // errno name (ENODEV…) or a native code: EKIND, ENETNS, EARG, EFILE, ECUTSHORT, EPROTO_NL, EPANIC
  errno?: number
  message: string
  extack?: string
  op?: string
  ifname?: string
  ifindex?: number
  kind?: string | null
  netns?: string
}

export interface ErrorDetails {
  hint?: string
  errno?: string
  errnoNumber?: number
  kernelMessage?: string
}

/** The longest run of non-blank characters an error message quotes in full. */
const QUOTE_CHARS = 200

/** Control characters as \xNN: no raw CR, ESC or NUL from the user's input reaches the terminal (newlines stay: multi-line parser messages are folded later). */
export function escapeControl(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
}

/**
 * What an error message may quote of the user's input, bounded in this one place (every NlmonctlError's
 * message passes here): a run of non-blank characters longer than QUOTE_CHARS (a 60 KB word in a batch
 * line, a bad flag value) keeps its first QUOTE_CHARS characters and says its size, control characters
 * are escaped.
 */
export function boundQuoted(message: string): string {
  const bounded = message.replace(new RegExp(`\\S{${QUOTE_CHARS + 1},}`, 'g'), (run) => {
    const head = Array.from(run).slice(0, QUOTE_CHARS).join('')
    return `${head}…(${Buffer.byteLength(run)} bytes)`
  })
  return escapeControl(bounded)
}

export class NlmonctlError extends Error {
  readonly code: ErrorCode
  readonly details: ErrorDetails

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(boundQuoted(message))
    this.name = 'NlmonctlError'
    this.code = code
    this.details = details
  }

  get exitCode(): number {
    return ExitCode[this.code]
  }

  /** One line for stderr: the message, the kernel's own words, then a hint. */
  toLine(): string {
    let line = this.message
    const { errno, kernelMessage, hint } = this.details
    if (errno && kernelMessage) line += ` (${errno}: ${kernelMessage})`
    else if (errno) line += ` (${errno})`
    if (hint) line += `; hint: ${hint}`
    return line.replace(/\s*\n\s*/g, ' ')
  }

  /** The one JSON object printed under --json. */
  toJSON(): Record<string, unknown> {
    const { hint, errno, errnoNumber, kernelMessage } = this.details
    return {
      error: {
        code: this.code,
        exitCode: this.exitCode,
        message: this.message,
        ...(errno === undefined ? {} : { errno }),
        ...(errnoNumber === undefined ? {} : { errnoNumber }),
        ...(kernelMessage === undefined ? {} : { kernelMessage }),
        ...(hint === undefined ? {} : { hint }),
      },
    }
  }
}

export function usageError(message: string): NlmonctlError {
  return new NlmonctlError('INVALID_INPUT', message)
}

/** How a not-nlmon refusal is worded: what was not done, or that the link holds a name we meant to create. */
export interface NotNlmonWording {
  /** "; refusing to <refusing>", e.g. "delete it". */
  refusing?: string
  /** The link holds the name an add asked for: ALREADY_EXISTS, "… already exists and is not an nlmon link". */
  nameTaken?: boolean
}

/**
 * The refusal of a link that is not nlmon, worded the one way: requireNlmon() (operations.ts) for
 * the checks made in TypeScript, fromNative() for the native layer's own check (EKIND).
 */
export function notNlmon(
  subject: string,
  kind: string | null | undefined,
  wording: NotNlmonWording = {},
): NlmonctlError {
  const what = `${subject}${wording.nameTaken ? ' already exists and' : ''} is not an nlmon link (kind: ${kind ?? 'none'})`
  return new NlmonctlError(
    wording.nameTaken ? 'ALREADY_EXISTS' : 'NOT_NLMON',
    wording.refusing === undefined ? what : `${what}; refusing to ${wording.refusing}`,
  )
}

const CAP_HINT = 'changing links needs CAP_NET_ADMIN in the network namespace: run as root or grant the capability'
const NO_DRIVER_HINT = 'the kernel has no nlmon support (CONFIG_NLMON); try `modprobe nlmon`'
const CAPTURE_CAP_HINT = 'capturing needs CAP_NET_RAW and CAP_NET_ADMIN: run as root'

/** Parse the JSON message the native layer rejects with; anything else is an internal error. */
export function parseNativeError(err: unknown): NativeErrorInfo {
  // Read the message structurally: an error thrown by a synchronous native call may come from another
  // realm (jest's module sandbox), where instanceof Error is false.
  const message = (err as { message?: unknown } | null)?.message
  const text = typeof message === 'string' ? message : String(err)
  try {
    const info = JSON.parse(text) as NativeErrorInfo
    if (info && typeof info.code === 'string') return info
  } catch {
    // not one of ours: fall through
  }
  return { code: 'EINTERNAL', message: text }
}

/** What the user asked for, so messages can name it. */
export interface OperationContext {
  /** A link request, or 'capture': a capture call (openCapture, readPcap, filterPcap, a capture that ended on an error). */
  action: 'create' | 'look up' | 'delete' | 'change' | 'list' | 'capture'
  link?: string // name or ifindex as the user typed it
  netns?: string
  /** A capture's pcap file (-w, or -r), named in the errors about it; "the pcap file" otherwise. */
  file?: string
}

function describeLink(ctx: OperationContext, info?: NativeErrorInfo): string {
  const name = ctx.link ?? info?.ifname
  const where = ctx.netns ? ` in network namespace "${ctx.netns}"` : ''
  return name === undefined ? `link${where}` : `link "${name}"${where}`
}

/** The native operations on a capture's pcap file: their errors are the file's, not the kernel's. */
const PCAP_FILE_OPS = new Set(['open(pcap)', 'write(pcap)', 'read(pcap)', 'fchmod(pcap)'])

/** The one place where kernel/native errors become nlmonctl errors (an NlmonctlError passes as it is). */
export function fromNative(err: unknown, ctx: OperationContext): NlmonctlError {
  if (err instanceof NlmonctlError) return err
  const info = parseNativeError(err)
  const kernel: ErrorDetails = {
    errno: info.code.startsWith('E') && info.errno !== undefined ? info.code : undefined,
    errnoNumber: info.errno,
    kernelMessage: info.extack,
  }
  if (info.op !== undefined && PCAP_FILE_OPS.has(info.op))
    return pcapFileError(info, ctx.file ?? 'the pcap file', kernel)
  switch (info.code) {
    case 'EARG':
      return usageError(info.message)
    case 'EFILE':
      // A capture file that is not one (or is cut inside its header); the message names it.
      return usageError(info.message)
    case 'ECUTSHORT':
      return new NlmonctlError('FILE_CUT_SHORT', info.message, {
        hint: 'a capture killed or out of disk space ends like this; the packets before the cut were decoded',
      })
    case 'ENETNS':
      return netnsError(info, ctx)
    default:
      return ctx.action === 'capture' ? captureError(info, ctx, kernel) : linkError(info, ctx, kernel)
  }
}

/** A capture's output file exists (and --force was not given). */
export function outputExists(file: string): NlmonctlError {
  return new NlmonctlError('ALREADY_EXISTS', `${file} already exists`, { hint: 'use --force to replace it' })
}

function pcapFileError(info: NativeErrorInfo, file: string, kernel: ErrorDetails): NlmonctlError {
  if (info.op === 'write(pcap)' && info.code !== 'EPIPE') {
    // A write failed mid-capture (ENOSPC, EDQUOT, EFBIG, EIO…): the native writer cut a regular
    // file back to its last whole record, and the capture ended.
    return new NlmonctlError('KERNEL_ERROR', `cannot write ${file}: ${info.message.toLowerCase()}`, {
      ...kernel,
      hint: 'the capture ended; the file holds every packet written before, up to its last whole record',
    })
  }
  switch (info.code) {
    case 'EEXIST':
      return outputExists(file)
    case 'ELOOP':
      return usageError(`${file} is a symbolic link: captures are never written through one`)
    case 'ENOENT':
      return new NlmonctlError('NOT_FOUND', `${file}: no such file or directory`)
    case 'EACCES':
    case 'EPERM':
      return new NlmonctlError('PERMISSION_DENIED', `${file}: permission denied`, kernel)
    default:
      return new NlmonctlError('KERNEL_ERROR', `${file}: ${info.message}`, kernel)
  }
}

/** EINVAL, ELOOP, ENOTDIR, ENAMETOOLONG: the --netns path names no network namespace. */
const NOT_A_NETNS_ERRNOS = new Set([22, 40, 20, 36])

function netnsError(info: NativeErrorInfo, ctx: OperationContext): NlmonctlError {
  const ns = info.netns ?? ctx.netns ?? ''
  if (info.errno === 2) {
    return new NlmonctlError('NETNS_NOT_FOUND', `network namespace "${ns}" not found`, {
      hint: 'list them with `ip netns list`, or give a path such as /proc/PID/ns/net',
    })
  }
  // info.message is "cannot <step> network namespace <ns>: <strerror>": keep the reason only
  const reason = info.message.slice(info.message.lastIndexOf(': ') + 2)
  if (info.errno === 1 || info.errno === 13) {
    return new NlmonctlError('PERMISSION_DENIED', `cannot enter network namespace "${ns}": ${reason}`, {
      hint: 'entering a network namespace needs CAP_SYS_ADMIN',
    })
  }
  if (NOT_A_NETNS_ERRNOS.has(info.errno ?? 0)) {
    // a file that is not a network namespace (a directory, /etc/hostname, a FIFO, a pid ns: EINVAL), or a
    // path that cannot name one at all (a symlink loop, a file used as a directory, a path too long)
    return new NlmonctlError('NETNS_NOT_FOUND', `"${ns}" is not a network namespace`, {
      hint: 'list them with `ip netns list`, or give a path such as /proc/PID/ns/net',
    })
  }
  return new NlmonctlError('KERNEL_ERROR', `cannot enter network namespace "${ns}": ${reason}`)
}

/** The ops of the native errors that end a running capture because what it captured on went away. */
const LINK_GONE_OP = 'capture(link)'
const NETNS_GONE_OP = 'capture(netns)'

function captureError(info: NativeErrorInfo, ctx: OperationContext, kernel: ErrorDetails): NlmonctlError {
  const link = ctx.link === undefined ? 'the capture link' : `the capture link "${ctx.link}"`
  if (info.op === LINK_GONE_OP) {
    return info.code === 'ENODEV'
      ? new NlmonctlError('NOT_FOUND', `${link} was deleted; the capture ended`, kernel)
      : new NlmonctlError('KERNEL_ERROR', `${link} went down; the capture ended`, kernel)
  }
  if (info.op === NETNS_GONE_OP) {
    return new NlmonctlError('NETNS_NOT_FOUND', `network namespace "${ctx.netns ?? ''}" was deleted; the capture ended`)
  }
  switch (info.code) {
    case 'EPERM':
    case 'EACCES':
      return new NlmonctlError('PERMISSION_DENIED', `cannot capture: ${info.message}`, {
        ...kernel,
        hint: CAPTURE_CAP_HINT,
      })
    default:
      return new NlmonctlError(
        'KERNEL_ERROR',
        `capture failed: ${info.message}${info.op ? ` (${info.op})` : ''}`,
        kernel,
      )
  }
}

function linkError(info: NativeErrorInfo, ctx: OperationContext, kernel: ErrorDetails): NlmonctlError {
  const link = describeLink(ctx, info)
  switch (info.code) {
    case 'EKIND':
      // The native layer checked the kind itself (right before RTM_DELLINK / RTM_SETLINK).
      return notNlmon(link, info.kind, { refusing: `${ctx.action} it` })
    case 'ENODEV':
      return new NlmonctlError('NOT_FOUND', `${link} not found`, kernel)
    case 'EEXIST':
      return new NlmonctlError('ALREADY_EXISTS', `${link} already exists`, kernel)
    case 'ENFILE':
      // dev_alloc_name: every number a NAME with %d can take (the kernel tries 0..limit) is in use.
      if (ctx.action === 'create' && ctx.link?.includes('%d')) {
        return new NlmonctlError(
          'ALREADY_EXISTS',
          `no free name for ${ctx.link}: every number it can take is in use`,
          kernel,
        )
      }
      return new NlmonctlError('KERNEL_ERROR', `cannot ${ctx.action} ${link}: ${info.message}`, kernel)
    case 'EPERM':
    case 'EACCES':
      return new NlmonctlError('PERMISSION_DENIED', `cannot ${ctx.action} ${link}: permission denied`, {
        ...kernel,
        hint: CAP_HINT,
      })
    case 'EOPNOTSUPP':
      // On RTM_NEWLINK with kind nlmon the kernel says "Unknown device type" when no driver can be loaded.
      if (ctx.action === 'create') {
        return new NlmonctlError('NO_NLMON_SUPPORT', `cannot create ${link}: this kernel has no nlmon driver`, {
          ...kernel,
          hint: NO_DRIVER_HINT,
        })
      }
      return new NlmonctlError('KERNEL_ERROR', `cannot ${ctx.action} ${link}: ${info.message}`, kernel)
    case 'EINTERNAL':
    case 'EPANIC':
    case 'EPROTO_NL':
      return new NlmonctlError('KERNEL_ERROR', `internal error: ${info.message}`)
    default:
      return new NlmonctlError('KERNEL_ERROR', `cannot ${ctx.action} ${link}: ${info.message}`, kernel)
  }
}
