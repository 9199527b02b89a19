// Entry point used by bin/run.js (bundled into dist/index.cjs): oclif's run with nlmonctl's own top-level
// error handling, so that even errors outside a command (unknown command) are one line with a documented
// exit code. COMMANDS is how oclif finds the commands in the bundle (the "explicit" strategy).

import { flush, run } from '@oclif/core'
import type * as Addon from '#native'
import { toNlmonctlError } from './base-command.js'
import { setAddonImporter } from './core/native.js'
import Add from './commands/add.js'
import Batch from './commands/batch.js'
import Capture from './commands/capture.js'
import Del from './commands/del.js'
import List from './commands/list.js'
import Prune from './commands/prune.js'
import SetCommand from './commands/set.js'
import Stats from './commands/stats.js'
import Trace from './commands/trace.js'

export const COMMANDS = { add: Add, batch: Batch, capture: Capture, del: Del, list: List, prune: Prune, set: SetCommand, stats: Stats, trace: Trace }

export interface Entry {
  /** The addon's loader, from an ES module (see setAddonImporter). */
  importAddon?: () => Promise<typeof Addon>
}

export async function main(argv: string[], root: string, entry: Entry = {}): Promise<void> {
  if (entry.importAddon) setAddonImporter(entry.importAddon)
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
