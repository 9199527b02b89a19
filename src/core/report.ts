// How a command's failure reaches the user, the same from the oclif command classes (BaseCommand)
// and from the lean path (src/lean.ts): one line on stderr naming the command, one JSON object on
// stdout under --json, and the documented exit code.

import { NlmonctlError } from './errors.js'
import { formatJson } from './output.js'
import { processStdio, type Stdio } from './stdio.js'

/** Anything thrown that is not already an NlmonctlError is an internal error (exit 1). */
export function asNlmonctlError(error: unknown): NlmonctlError {
  if (error instanceof NlmonctlError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new NlmonctlError('KERNEL_ERROR', `internal error: ${message}`)
}

export function reportFailure(
  command: string | undefined,
  failure: NlmonctlError,
  json: boolean,
  io: Stdio = processStdio,
): void {
  process.exitCode = failure.exitCode
  io.err(`nlmonctl ${command?.replace(/:/g, ' ') ?? ''}: ${failure.toLine()}\n`.replace(' :', ':'))
  if (json) io.out(formatJson(failure.toJSON(), io) + '\n')
}

/**
 * oclif's Command.jsonEnabled() for a command with --json: NLMONCTL_CONTENT_TYPE=json, or --json
 * among the words before any `--` (whatever the parser later makes of them).
 */
export function jsonRequested(words: readonly string[]): boolean {
  if (process.env.NLMONCTL_CONTENT_TYPE?.toLowerCase() === 'json') return true
  const json = words.indexOf('--json')
  const end = words.indexOf('--')
  return json !== -1 && (end === -1 || json < end)
}
