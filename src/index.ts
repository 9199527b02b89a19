// Entry point used by bin/run.js (bundled into dist/index.cjs): oclif's run with nlmonctl's own top-level
// error handling, so that even errors outside a command (unknown command) are one line with a documented
// exit code. COMMANDS is how oclif finds the commands in the bundle (the "explicit" strategy).

import { run } from '@oclif/core'
import type * as Addon from '#native'
import { toNlmonctlError } from './base-command.js'
import { setAddonImporter } from './core/native.js'
import { nonUtf8Refusal } from './core/raw-argv.js'
import { jsonRequested, reportFailure } from './core/report.js'
import Add from './commands/add.js'
import Batch from './commands/batch.js'
import Capture from './commands/capture.js'
import Del from './commands/del.js'
import ExtcapInstall from './commands/extcap/install.js'
import ExtcapRun from './commands/extcap/run.js'
import ExtcapUninstall from './commands/extcap/uninstall.js'
import List from './commands/list.js'
import Prune from './commands/prune.js'
import SetCommand from './commands/set.js'
import Stats from './commands/stats.js'
import Trace from './commands/trace.js'

export const COMMANDS = {
  add: Add,
  batch: Batch,
  capture: Capture,
  del: Del,
  'extcap:install': ExtcapInstall,
  'extcap:run': ExtcapRun,
  'extcap:uninstall': ExtcapUninstall,
  list: List,
  prune: Prune,
  set: SetCommand,
  stats: Stats,
  trace: Trace,
}

export interface Entry {
  /** The addon's loader, from an ES module (see setAddonImporter). */
  importAddon?: () => Promise<typeof Addon>
}

/**
 * Wait until what stdout holds is written, or until its reader has gone. oclif's flush() waits for a
 * drain only: when the reader went away (`capture --json | head -1`) the pending write ends in EPIPE, no
 * drain comes, and node exited 13 (an unsettled top-level await) instead of the command's own code.
 */
async function flushStdout(): Promise<void> {
  const out = process.stdout
  if (out.destroyed || out.writableLength === 0) return
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done).off('close', done).off('error', done)
      resolve()
    }
    out.on('drain', done).on('close', done).on('error', done)
  })
}

export async function main(argv: string[], root: string, entry: Entry = {}): Promise<void> {
  if (entry.importAddon) setAddonImporter(entry.importAddon)
  const notUtf8 = nonUtf8Refusal(argv) // as src/lean.ts does, for NLMONCTL_FAST_PATH=0
  if (notUtf8) {
    reportFailure(notUtf8.command, notUtf8.failure, jsonRequested(argv))
    return
  }
  try {
    await run(argv, root)
    await flushStdout()
  } catch (error) {
    const failure = toNlmonctlError(error)
    process.stderr.write(`nlmonctl: ${failure.toLine()}\n`)
    if (argv.includes('--json')) process.stdout.write(JSON.stringify(failure.toJSON()) + '\n')
    process.exitCode = failure.exitCode
  }
}
