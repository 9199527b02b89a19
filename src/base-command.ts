// Shared by every command: --json and --netns, output helpers, and the single error path that turns
// any failure into one line on stderr, one JSON object under --json, and a documented exit code.
// oclif 4 would exit 1 for every error in --json mode (oclif/core#1423) and dump parser context: not here.
// Arguments are read by nlmonctl's own parser (src/core/argv.ts), the one the lean path and batch
// lines use, from the same definitions: oclif's parser is not used for our commands.

import { Command, Errors, type Interfaces } from '@oclif/core'
import { argvInput, foldParserMessage, parseArgv } from './core/argv.js'
import { NlmonctlError, usageError } from './core/errors.js'
import { checkNetns } from './core/native.js'
import type { Outcome } from './core/operations.js'
import { formatJson, writeOutcome } from './core/output.js'
import { asNlmonctlError, reportFailure } from './core/report.js'
import { GLOBAL_FLAGS } from './specs/global.js'

export { writeOutcome } from './core/output.js'

// oclif's FlagOutput / ArgOutput, which its index does not export.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ParserOutputShape = { [name: string]: any }

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = GLOBAL_FLAGS

  /** nlmonctl's parser over the command's definitions (oclif's aggregate: --json, base flags, flags), plus --netns's check. */
  protected async parse<F extends ParserOutputShape, B extends ParserOutputShape, A extends ParserOutputShape>(
    options?: Interfaces.Input<F, B, A>,
    argv: string[] = this.argv,
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const command = (options ?? this.ctor) as Parameters<typeof argvInput>[0]
    this.argv = [...argv]
    this.parsed = true
    const parsed = await parseArgv(argv, argvInput(command))
    checkNetns(parsed.flags.netns as string | undefined)
    return { ...parsed, metadata: { flags: {} }, nonExistentFlags: [], raw: [] } as unknown as Interfaces.ParserOutput<
      F,
      B,
      A
    >
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
    reportFailure(this.id, toNlmonctlError(error), this.jsonEnabled())
  }
}

/** oclif's own errors (an unknown command, …) and anything unexpected become NlmonctlErrors too: one line, a known exit code. */
export function toNlmonctlError(error: unknown): NlmonctlError {
  if (error instanceof NlmonctlError) return error
  if (error instanceof Errors.CLIError) return usageError(foldParserMessage(error.message))
  return asNlmonctlError(error)
}
