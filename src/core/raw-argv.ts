// Node decodes argv lossily: an argument that is not valid UTF-8 (`add $'a\xa0b'`) reaches
// process.argv with U+FFFD in place of its bytes, and would name a link that was never asked for.
// The raw bytes are in /proc/self/cmdline, whose last entries are the arguments. Checked first by
// both entries (src/lean.ts, src/index.ts), before anything is parsed or sent.

import { readFileSync } from 'node:fs'
import { usageError, type NlmonctlError } from './errors.js'

/** The first argument whose raw bytes are not UTF-8, written with \xNN escapes; undefined if none. */
export function nonUtf8Argument(
  argv: readonly string[],
  cmdline: () => Buffer = () => readFileSync('/proc/self/cmdline'),
): { index: number; text: string } | undefined {
  if (!argv.some((arg) => arg.includes('\uFFFD'))) return undefined
  let raw: Buffer
  try {
    raw = cmdline()
  } catch {
    return undefined
  }
  const entries: Buffer[] = []
  for (let start = 0; start < raw.length;) {
    const end = raw.indexOf(0, start)
    entries.push(raw.subarray(start, end === -1 ? raw.length : end))
    start = end === -1 ? raw.length : end + 1
  }
  const args = entries.slice(-argv.length)
  if (args.length !== argv.length) return undefined
  const strict = new TextDecoder('utf-8', { fatal: true })
  for (const [index, bytes] of args.entries()) {
    try {
      strict.decode(bytes)
    } catch {
      const text = [...bytes]
        .map((b) =>
          b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
        )
        .join('')
      return { index, text }
    }
  }
  return undefined
}

/**
 * The refusal of such an argument (exit 2, INVALID_INPUT), and the command to name in it (none when
 * the command word itself is the bad one); undefined when every argument is UTF-8.
 */
export function nonUtf8Refusal(argv: readonly string[]): { command?: string; failure: NlmonctlError } | undefined {
  const bad = nonUtf8Argument(argv)
  if (!bad) return undefined
  const command = bad.index > 0 && /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : undefined
  return { command, failure: usageError(`argument "${bad.text}" is not valid UTF-8`) }
}
