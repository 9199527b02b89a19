// The attribute table: every link attribute the CLI accepts or refuses, with the kernel rule it mirrors.
// It drives the flags of `add` and `set`, their help text, and validation. The rules are those of the
// nlmon driver and of generic rtnetlink (net/core/dev.c, net/core/rtnetlink.c) as measured on Debian's
// 6.1, 6.12 and 7.2 kernels (test/kernel/parity.test.ts): nlmonctl refuses exactly what the kernel would
// refuse for an nlmon link, before anything is sent.

import { release } from 'node:os'
import { usageError } from './errors.js'

export type Command = 'add' | 'set'

/** Values ready for the native layer. */
export interface LinkSettings {
  name?: string
  mtu?: number
  txqlen?: number
  group?: number
  alias?: string
  broadcast?: Buffer
}

/** What a rule may depend on: the command, and the running kernel (a few limits moved over time). */
export interface RuleContext {
  command: Command
  kernel: KernelVersion
}

export interface KernelVersion {
  major: number
  minor: number
}

type Verdict = { value: string | number | Buffer } | { reason: string }

export interface AttributeRule {
  /** The rtnetlink attribute this mirrors. */
  ifla: string
  /** Long CLI flag (for `name`, `add` takes it as its argument and `set` as --name). */
  flag: string
  /** Other spellings users reach for; they get the same verdict. */
  aliases?: string[]
  /** Key in LinkSettings; absent for attributes the kernel refuses for nlmon outright. */
  key?: keyof LinkSettings
  commands: readonly Command[]
  valueName: string
  summary: string
  /** The kernel rule, in words: shown in help and in every error. */
  rule: string
  /** Returns the value to send, or the reason the kernel would refuse it. */
  check(raw: string, context: RuleContext): Verdict
}

export const IFNAMSIZ = 16
export const NLMON_MIN_MTU = 16 // sizeof(struct nlmsghdr): nlmon's min_mtu
export const MTU_MAX = 2 ** 31 - 1 // dev_validate_mtu() compares as int: 2^31 and up is negative
export const IFALIASZ = 256
export const U32_MAX = 2 ** 32 - 1
export const TXQLEN_MAX = 32767 // measured: larger values are ERANGE on change (6.1+) and at creation (6.12+)
export const MAX_ADDR_LEN = 32

const encoder = new TextEncoder()

/** The running kernel's version, from uname -r ("6.1.0-56-amd64" → 6.1). */
export function runningKernel(text: string = release()): KernelVersion {
  const match = /^(\d+)\.(\d+)/.exec(text)
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : { major: 0, minor: 0 }
}

function atLeast(kernel: KernelVersion, major: number, minor: number): boolean {
  return kernel.major > major || (kernel.major === major && kernel.minor >= minor)
}

/** isspace() of the kernel's lib/ctype.c: \t \n \v \f \r, space, and 0xA0 (Latin-1 NBSP). */
function isKernelSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0
}

/**
 * dev_valid_name() plus the '%' rule of dev_alloc_name(): 1..15 bytes, not "." or "..",
 * no '/', ':' or whitespace; a '%' must be a single "%d" (the kernel then picks the number).
 */
export function checkIfname(name: string): string | undefined {
  const bytes = encoder.encode(name)
  if (bytes.length === 0) return 'must not be empty'
  if (bytes.length >= IFNAMSIZ) return `must be at most ${IFNAMSIZ - 1} bytes (IFNAMSIZ), got ${bytes.length}`
  if (name === '.' || name === '..') return 'must not be "." or ".."'
  if (bytes.includes(0)) return 'must not contain a NUL byte'
  for (const byte of bytes) {
    if (byte === 0x2f) return "must not contain '/'"
    if (byte === 0x3a) return "must not contain ':'"
    if (isKernelSpace(byte)) return 'must not contain whitespace'
  }
  const percent = name.indexOf('%')
  if (percent !== -1 && (name[percent + 1] !== 'd' || name.includes('%', percent + 2))) {
    return 'may contain \'%\' only as a single "%d" (the kernel fills in the number)'
  }
  return undefined
}

/** Unsigned decimal or 0x-hex digits only, as iproute2 accepts; undefined if it is not a u32. */
export const DECIMAL_OR_HEX = /^(?:[0-9]+|0x[0-9a-f]+)$/i

export function parseU32(raw: string): number | undefined {
  // No trimming: iproute2 refuses '16 ' (strtoul leaves a rest), and so does the table.
  const text = raw
  let value: number
  if (/^0x[0-9a-f]+$/i.test(text)) value = Number.parseInt(text.slice(2), 16)
  else if (/^[0-9]+$/.test(text)) value = Number(text)
  else return undefined
  return Number.isSafeInteger(value) && value <= U32_MAX ? value : undefined
}

/** A link-layer address as iproute2 writes it: hex bytes separated by ':'. */
export function parseLladdr(raw: string): Buffer | undefined {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2})*$/i.test(raw)) return undefined
  return Buffer.from(raw.split(':').map((byte) => Number.parseInt(byte, 16)))
}

function checkU32(raw: string, min: number, max: number, what: string): Verdict {
  const value = parseU32(raw)
  if (value === undefined) return { reason: `must be an unsigned 32-bit integer (${what})` }
  if (value < min) return { reason: `must be at least ${min} (${what})` }
  if (value > max) return { reason: `must be at most ${max} (${what})` }
  return { value }
}

const NO_HW_ADDRESS =
  'nlmon links have no hardware address: the nlmon driver rejects IFLA_ADDRESS with EINVAL at creation, and an existing link cannot take one (EOPNOTSUPP)'

export const ATTRIBUTES: readonly AttributeRule[] = [
  {
    ifla: 'IFLA_IFNAME',
    flag: 'name',
    key: 'name',
    commands: ['add', 'set'],
    valueName: 'NAME',
    summary: 'Link name; "%d" in it lets the kernel pick the number.',
    rule: `1-${IFNAMSIZ - 1} bytes, not "." or "..", no '/', ':' or whitespace, '%' only as one "%d" (dev_valid_name); an empty name lets the kernel pick at creation and renames nothing on change`,
    check(raw) {
      // The kernel takes an empty IFLA_IFNAME: at creation it names the link (nlmon%d), on change it skips the rename.
      if (raw === '') return { value: '' }
      const reason = checkIfname(raw)
      return reason ? { reason } : { value: raw }
    },
  },
  {
    ifla: 'IFLA_MTU',
    flag: 'mtu',
    key: 'mtu',
    commands: ['add', 'set'],
    valueName: 'BYTES',
    summary: 'MTU in bytes (default 3776, NLMSG_GOODSIZE).',
    rule: `${NLMON_MIN_MTU} (nlmon's min_mtu, sizeof(struct nlmsghdr)) to ${MTU_MAX}; nlmon has no upper limit but the kernel compares as int`,
    check: (raw) => checkU32(raw, NLMON_MIN_MTU, MTU_MAX, `nlmon accepts ${NLMON_MIN_MTU}..${MTU_MAX}`),
  },
  {
    ifla: 'IFLA_TXQLEN',
    flag: 'txqueuelen',
    aliases: ['txqlen'],
    key: 'txqlen',
    commands: ['add', 'set'],
    valueName: 'PACKETS',
    summary: 'Transmit queue length (nlmon has no queue; kept for tooling that reads it).',
    rule: `0 to ${TXQLEN_MAX}: the kernel answers ERANGE above that on change, and at creation from Linux 6.12 (measured on 6.1, 6.12, 7.2: 6.1 takes any u32 at creation)`,
    check(raw, { command, kernel }) {
      // Measured: 6.1 stores any u32 at creation but refuses > 32767 on change; 6.12 and 7.2 refuse both.
      const max = command === 'add' && !atLeast(kernel, 6, 12) ? U32_MAX : TXQLEN_MAX
      return checkU32(raw, 0, max, `this kernel accepts 0..${max}`)
    },
  },
  {
    ifla: 'IFLA_GROUP',
    flag: 'group',
    key: 'group',
    commands: ['add', 'set'],
    valueName: 'GROUP',
    summary: 'Device group number ("default" is 0).',
    rule: `0 to ${U32_MAX} (u32), or "default"`,
    check: (raw) => (raw === 'default' ? { value: 0 } : checkU32(raw, 0, U32_MAX, 'u32')),
  },
  {
    ifla: 'IFLA_IFALIAS',
    flag: 'alias',
    key: 'alias',
    commands: ['add', 'set'],
    valueName: 'TEXT',
    summary: 'Free-form description (ip shows it as ifalias); "" clears it.',
    rule: `at most ${IFALIASZ - 1} bytes (IFALIASZ - 1)`,
    check(raw) {
      const length = encoder.encode(raw).length
      if (length > IFALIASZ - 1) return { reason: `must be at most ${IFALIASZ - 1} bytes, got ${length}` }
      if (raw.includes('\0')) return { reason: 'must not contain a NUL byte' }
      return { value: raw }
    },
  },
  {
    ifla: 'IFLA_ADDRESS',
    flag: 'address',
    aliases: ['lladdr', 'mac', 'hwaddr'],
    commands: ['add', 'set'],
    valueName: 'LLADDR',
    summary: 'Refused: nlmon links have no hardware address.',
    rule: NO_HW_ADDRESS,
    check: () => ({ reason: NO_HW_ADDRESS }),
  },
  {
    ifla: 'IFLA_BROADCAST',
    flag: 'broadcast',
    aliases: ['brd'],
    key: 'broadcast',
    commands: ['add', 'set'],
    valueName: 'LLADDR',
    summary: 'Accepted by the kernel and without effect: nlmon has no hardware address (addr_len 0).',
    rule: `1 to ${MAX_ADDR_LEN} bytes written aa:bb:…; unlike IFLA_ADDRESS the kernel takes it for nlmon (measured), so it is passed on`,
    check(raw) {
      const bytes = parseLladdr(raw)
      if (!bytes)
        return { reason: 'must be a link-layer address written as hex bytes separated by ":" (aa:bb:cc:dd:ee:ff)' }
      if (bytes.length > MAX_ADDR_LEN)
        return { reason: `must be at most ${MAX_ADDR_LEN} bytes (MAX_ADDR_LEN), got ${bytes.length}` }
      return { value: bytes }
    },
  },
]

export function attributesFor(command: Command): AttributeRule[] {
  return ATTRIBUTES.filter((rule) => rule.commands.includes(command))
}

/** The rule for a flag name or alias, as typed without dashes. */
export function ruleForFlag(flag: string): AttributeRule | undefined {
  return ATTRIBUTES.find((rule) => rule.flag === flag || rule.aliases?.includes(flag))
}

/**
 * Validate raw flag values (flag name → string) for a command; returns settings ready for the
 * native layer, or throws an INVALID_INPUT error naming the flag, the value and the rule.
 */
export function validateAttributes(
  command: Command,
  raw: Record<string, string | undefined>,
  kernel: KernelVersion = runningKernel(),
): LinkSettings {
  const settings: LinkSettings = {}
  for (const [flag, value] of Object.entries(raw)) {
    if (value === undefined) continue
    const rule = ruleForFlag(flag)
    if (!rule || !rule.commands.includes(command)) throw usageError(`unknown attribute --${flag}`)
    const verdict = rule.check(value, { command, kernel })
    const shown =
      flag === 'name' && command === 'add' ? `name ${JSON.stringify(value)}` : `--${flag} ${JSON.stringify(value)}`
    if ('reason' in verdict) throw usageError(`invalid ${shown}: ${verdict.reason} [${rule.ifla}]`)
    if (rule.key) (settings as Record<string, unknown>)[rule.key] = verdict.value
  }
  return settings
}
