// The lean entry (dist/lean.cjs, its own esbuild bundle; bin/run.js loads it first): the script verbs
// add, del, list, set and stats — their output, their refusals (usage, validation, kernel errors) and
// their exit codes, exactly as the oclif commands print them — without loading @oclif/* at all, which
// is most of a call's start-up. Anything else (help, --version, batch, capture, trace, prune,
// autocomplete, stats --watch, an unknown command) returns false: bin/run.js then runs the full CLI.
// test/unit/lean-bundle.test.ts fails if any @oclif module gets into this bundle.

import type * as Addon from '#native'
import { parseArgv } from './core/argv.js'
import { usageError } from './core/errors.js'
import { oneShotApi } from './core/link-api.js'
import { checkNetns, loadAddon, setAddonImporter, target } from './core/native.js'
import { writeOutcome } from './core/output.js'
import { asNlmonctlError, jsonRequested, reportFailure } from './core/report.js'
import { nonUtf8Refusal } from './core/raw-argv.js'
import { fdStdio, type Stdio } from './core/stdio.js'
import { isVerb, VERBS, type Verb } from './core/verbs.js'

export interface Entry {
  /** The addon's loader, from an ES module (see setAddonImporter in src/core/native.ts). */
  importAddon?: () => Promise<typeof Addon>
}

/** Runs a script verb and returns true; false when the full CLI is the one to run argv. */
export async function main(argv: string[], entry: Entry = {}): Promise<boolean> {
  const [id, ...words] = argv
  const notUtf8 = nonUtf8Refusal(argv) // whatever the command: refused before it runs
  if (notUtf8) {
    reportFailure(notUtf8.command, notUtf8.failure, jsonRequested(argv), fdStdio())
    return true
  }
  if (!isVerb(id) || helpRequested(argv)) return false
  if (entry.importAddon) setAddonImporter(entry.importAddon)
  const verb = VERBS[id]
  const io = fdStdio()
  if (unknownCommand(id, words, verb, io)) return true
  const json = jsonRequested(words)
  try {
    const parsed = await parseArgv(words, verb.input)
    const netns = parsed.flags.netns as string | undefined
    checkNetns(netns)
    if (id === 'stats' && parsed.flags.watch === true) return false // runs until interrupted: the full CLI's
    const operation = verb.prepare(parsed)
    const everyLink = id === 'list' || (id === 'stats' && parsed.argv.length === 0)
    if (json && everyLink && !io.isTTY && (await printListing(netns, io))) return true
    writeOutcome(await operation.run(oneShotApi(netns)), json, io.out, io)
  } catch (error) {
    reportFailure(id, asNlmonctlError(error), json, io)
  }
  return true
}

/** oclif shows help when --help comes before any `--`. */
function helpRequested(argv: readonly string[]): boolean {
  for (const word of argv) {
    if (word === '--help') return true
    if (word === '--') return false
  }
  return false
}

/**
 * oclif's command ids take words: after a command that has no arguments (list), the words up to the
 * first flag (or word with '=') are read as a longer command id, `list x` as the command "list:x",
 * which does not exist. Reported as src/index.ts reports it; true when it did.
 */
function unknownCommand(id: string, words: readonly string[], verb: Verb, io: Stdio): boolean {
  if (Object.keys(verb.spec.args).length > 0 || !verb.spec.strict) return false
  const more: string[] = []
  for (const word of words) {
    if (word.includes('=') || word.startsWith('-')) break
    more.push(word)
  }
  if (!more.some(Boolean)) return false
  const failure = usageError(`command ${[id, ...more].filter(Boolean).join(':')} not found (see --help)`)
  io.err(`nlmonctl: ${failure.toLine()}\n`)
  if (words.includes('--json')) io.out(JSON.stringify(failure.toJSON()) + '\n')
  process.exitCode = failure.exitCode
  return true
}

/**
 * `list --json` / `stats --json` of every link, into a pipe or a file: the addon's bytes as they are
 * (the dump shaped in Rust by native/src/link/ip_json.rs, the one shaper of a link; the oclif path
 * prints the same links parsed and re-stringified, and a guest test compares both byte for byte).
 * False when the addon failed: the operation then runs the ordinary way and reports the failure.
 */
async function printListing(netns: string | undefined, io: Stdio): Promise<boolean> {
  let chunks: Array<string | Uint8Array>
  try {
    const native = await loadAddon()
    chunks = [await native.listLinks('nlmon', target(netns)), '\n']
  } catch {
    return false
  }
  for (const chunk of chunks) io.out(chunk)
  return true
}
