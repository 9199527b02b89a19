// Entry point used by bin/run.js: oclif's run with nlmonctl's own top-level error handling, so that
// even errors outside a command (unknown command, bad topic) are one line with a documented exit code.

import { flush, run } from '@oclif/core'
import { toNlmonctlError } from './base-command.js'

export async function main(argv: string[], root: string): Promise<void> {
  try {
    await run(argv, root)
    await flush()
  } catch (error) {
    const failure = toNlmonctlError(error)
    process.stderr.write(`nlmonctl: ${failure.toLine()}\n`)
    if (argv.includes('--json')) process.stdout.write(JSON.stringify(failure.toJSON()) + '\n')
    process.exitCode = failure.exitCode
  }
}
