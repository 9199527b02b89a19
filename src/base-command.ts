// Shared by every command: --json and --netns, output helpers, and the single error path that turns
// any failure into one line on stderr, one JSON object under --json, and a documented exit code.
// oclif 4 would exit 1 for every error in --json mode (oclif/core#1423) and dump parser context: not here.

import { Command, Errors, Flags, type Interfaces } from '@oclif/core'
import { NlmonctlError, usageError } from './core/errors.js'
import { checkNetns } from './core/native.js'
import type { Outcome } from './core/operations.js'
import { formatJson, writeJson, writeTable } from './core/output.js'

// oclif's FlagOutput / ArgOutput, which its index does not export.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ParserOutputShape = { [name: string]: any }

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    netns: Flags.string({
      summary: 'Network namespace: a name under /run/netns, or a path such as /proc/PID/ns/net.',
      helpGroup: 'GLOBAL',
    }),
  }

  /** oclif's parse, plus the checks every command's global flags need. */
  protected async parse<F extends ParserOutputShape, B extends ParserOutputShape, A extends ParserOutputShape>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    checkNetns(parsed.flags.netns as string | undefined)
    return parsed
  }

  /** Print a result: JSON under --json, otherwise the text the command renders. */
  protected emit(json: unknown, text: () => string | undefined): void {
    if (this.jsonEnabled()) {
      process.stdout.write(formatJson(json) + '\n')
      return
    }
    const rendered = text()
    if (rendered !== undefined && rendered !== '') process.stdout.write(rendered + '\n')
  }

  /** Print an operation's outcome (streamed in chunks when it is a long list). */
  protected emitOutcome(outcome: Outcome): void {
    writeOutcome(outcome, this.jsonEnabled())
  }

  // Results are printed by emit(); keep oclif from printing them a second time.
  protected toSuccessJson(): undefined {
    return undefined
  }

  protected logJson(json: unknown): void {
    process.stdout.write(formatJson(json) + '\n')
  }

  protected async catch(error: Error & { exitCode?: number }): Promise<void> {
    this.parsed = true // a parse error is reported here; spare the user oclif's "did not parse" warning
    const failure = toNlmonctlError(error)
    process.exitCode = failure.exitCode
    process.stderr.write(`nlmonctl ${this.id ?? ''}: ${failure.toLine()}\n`.replace(' :', ':'))
    if (this.jsonEnabled()) this.logJson(failure.toJSON())
  }
}

/** Parser errors and anything unexpected become NlmonctlErrors too: one line, a known exit code. */
export function toNlmonctlError(error: unknown): NlmonctlError {
  if (error instanceof NlmonctlError) return error
  if (error instanceof Errors.CLIError) {
    // oclif's parser messages span lines (a header, the problems, "See more help with --help"): fold them.
    const text = error.message
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('See more help') && line !== 'The following errors occurred:')
      .join(' ')
      .replace(/\s+/g, ' ')
    return usageError(`${text} (see --help)`)
  }
  const message = error instanceof Error ? error.message : String(error)
  return new NlmonctlError('KERNEL_ERROR', `internal error: ${message}`)
}

const stdoutWrite = (chunk: string) => {
  process.stdout.write(chunk)
}

/** An outcome on stdout: its JSON under --json, otherwise its table or text. */
export function writeOutcome(outcome: Outcome, json: boolean, write: (chunk: string) => void = stdoutWrite): void {
  if (json) {
    writeJson(outcome.json, write)
  } else if (outcome.table) {
    writeTable(outcome.table.rows, outcome.table.columns, write)
  } else if (outcome.text !== undefined && outcome.text !== '') {
    write(outcome.text + '\n')
  }
}
