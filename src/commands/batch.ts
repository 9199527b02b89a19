import { closeSync, openSync, readSync } from 'node:fs'
import { BaseCommand, toNlmonctlError, writeOutcome } from '../base-command.js'
import { parseArgv } from '../core/argv.js'
import { batchLines } from '../core/batch-lines.js'
import { escapeControl, NlmonctlError, usageError } from '../core/errors.js'
import { SessionPool } from '../core/link-api.js'
import { checkNetns } from '../core/native.js'
import type { Operation } from '../core/operations.js'
import { isVerb, VERBS } from '../core/verbs.js'
import { batchSpec } from '../specs/batch.js'

interface Prepared {
  line: number
  text: string
  netns: string | undefined
  operation?: Operation
  /** The line's own --json (without batch --json: this line prints JSON, as the command would). */
  json?: boolean
  error?: NlmonctlError
}

export default class Batch extends BaseCommand {
  static summary = batchSpec.summary
  static description = batchSpec.description
  static examples = batchSpec.examples
  static args = batchSpec.args
  static flags = batchSpec.flags
  static strict = batchSpec.strict

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Batch)
    if (args.file !== undefined && flags.file !== undefined) throw usageError('give FILE or -f FILE, not both')
    const source = flags.file ?? args.file ?? '-'
    const input = readInput(source)

    const json = this.jsonEnabled()
    const keepGoing = flags.continue
    const prepared = await Promise.all(batchLines(input).map((line) => prepareLine(line, flags.netns)))

    let firstFailure: number | undefined
    let failed = 0
    const report = (line: Prepared, error: NlmonctlError) => {
      failed++
      firstFailure ??= error.exitCode
      process.stderr.write(`nlmonctl batch: line ${line.line} (${echo(line.text)}): ${error.toLine()}\n`)
      if (json) {
        process.stdout.write(
          JSON.stringify({ line: line.line, command: line.text, exitCode: error.exitCode, ...error.toJSON() }) + '\n',
        )
      }
    }

    // Nothing runs when a line is refused, unless --continue (then the refused lines are skipped).
    const refused = prepared.filter((p) => p.error)
    if (refused.length > 0 && !keepGoing) {
      report(refused[0], refused[0].error as NlmonctlError)
      process.stderr.write('nlmonctl batch: nothing was run\n')
      process.exitCode = firstFailure
      return
    }

    const pool = new SessionPool()
    try {
      for (const line of prepared) {
        if (line.error) {
          report(line, line.error)
          continue
        }
        try {
          const api = await pool.api(line.netns)
          const outcome = await (line.operation as Operation).run(api)
          if (json) {
            process.stdout.write(
              JSON.stringify({ line: line.line, command: line.text, exitCode: 0, result: outcome.json }) + '\n',
            )
          } else {
            writeOutcome(outcome, line.json === true)
          }
        } catch (error) {
          report(line, toNlmonctlError(error))
          if (!keepGoing) break
        }
      }
    } finally {
      pool.close()
    }
    if (firstFailure !== undefined) {
      if (keepGoing) process.stderr.write(`nlmonctl batch: ${failed} of ${prepared.length} lines failed\n`)
      process.exitCode = firstFailure
    }
  }
}

/** The longest batch line, in bytes: a longer one (or input without newlines, /dev/zero) is refused as it is read. */
export const MAX_LINE_BYTES = 64 * 1024
const ECHO_CHARS = 200

/** A line's text as echoed on stderr: control characters escaped (no raw CR, ESC or NUL), at most 200 characters. */
export function echo(text: string): string {
  return escapeControl(text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}…` : text)
}

/** Read the input incrementally, refusing a line longer than MAX_LINE_BYTES as soon as it is seen. */
function readInput(source: string): Buffer {
  const what = source === '-' ? 'standard input' : `"${source}"`
  const chunks: Buffer[] = []
  let fd: number | undefined
  try {
    fd = source === '-' ? 0 : openSync(source, 'r')
    let line = 1
    let lineBytes = 0
    const buffer = Buffer.alloc(MAX_LINE_BYTES)
    for (;;) {
      let n: number
      try {
        n = readSync(fd, buffer, 0, buffer.length, null)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue // a non-blocking stdin: wait for more
        throw error
      }
      if (n === 0) break
      const chunk = Buffer.from(buffer.subarray(0, n))
      for (let start = 0; ;) {
        const newline = chunk.indexOf(0x0a, start)
        lineBytes += (newline === -1 ? n : newline) - start
        if (lineBytes > MAX_LINE_BYTES)
          throw usageError(`line ${line} of ${what} is longer than ${MAX_LINE_BYTES} bytes`)
        if (newline === -1) break
        line++
        lineBytes = 0
        start = newline + 1
      }
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof NlmonctlError) throw error
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO'
    throw usageError(`cannot read ${what} (${code})`)
  } finally {
    if (fd !== undefined && fd !== 0) closeSync(fd)
  }
  return Buffer.concat(chunks)
}

async function prepareLine(
  line: ReturnType<typeof batchLines>[number],
  defaultNetns: string | undefined,
): Promise<Prepared> {
  const base = { line: line.line, text: line.text, netns: defaultNetns }
  if ('error' in line) return { ...base, error: usageError(line.error.message) }
  const [name, ...rest] = line.words
  try {
    if (name === 'batch') throw usageError('a batch line cannot run batch')
    if (!isVerb(name)) {
      throw usageError(`"${name}" is not a command a batch line can run (${Object.keys(VERBS).join(', ')})`)
    }
    // The parser and the checks of the command itself (src/core/verbs.ts), in the same order.
    const verb = VERBS[name]
    const parsed = await parseArgv(rest, verb.input)
    const netns = (parsed.flags.netns as string | undefined) ?? defaultNetns
    checkNetns(netns)
    if (name === 'stats' && parsed.flags.watch === true)
      throw usageError('stats --watch does not end: it cannot be a batch line')
    return { ...base, netns, json: parsed.flags.json === true, operation: verb.prepare(parsed) }
  } catch (error) {
    return { ...base, error: toNlmonctlError(error) }
  }
}
