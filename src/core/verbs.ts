// The script verbs — add, del, list, set, stats — each with its definitions and how its parsed words
// become an operation. The one registry the lean start-up path (src/lean.ts), batch lines and the
// oclif command classes share: the same parse, the same checks, in the same order, wherever it runs.

import { addSpec } from '../specs/add.js'
import { delSpec } from '../specs/del.js'
import { GLOBALS } from '../specs/global.js'
import { listSpec } from '../specs/list.js'
import { setSpec } from '../specs/set.js'
import { statsSpec } from '../specs/stats.js'
import type { CommandSpec } from '../specs/define.js'
import { argvInput, type ArgvInput, type Parsed } from './argv.js'
import { prepareAdd, prepareDel, prepareList, prepareSet, prepareStats, type Operation } from './operations.js'

export interface Verb {
  spec: CommandSpec
  /** What the parser reads: --json, the global flags, the verb's own. */
  input: ArgvInput
  /** Every check that needs no kernel; throws an NlmonctlError, sends nothing. */
  prepare(parsed: Parsed): Operation
}

const verb = (spec: CommandSpec, prepare: Verb['prepare']): Verb => ({
  spec,
  input: argvInput({ ...GLOBALS, ...spec }),
  prepare,
})

export const VERBS = {
  add: verb(addSpec, (p) => prepareAdd(p.args.name as string | undefined, p.flags)),
  del: verb(delSpec, (p) => prepareDel(p.argv as string[], p.flags)),
  list: verb(listSpec, () => prepareList()),
  set: verb(setSpec, (p) => prepareSet(p.args.link as string, p.flags)),
  stats: verb(statsSpec, (p) => prepareStats(p.argv as string[], p.flags)),
} as const

export type VerbName = keyof typeof VERBS

export function isVerb(word: string | undefined): word is VerbName {
  return word !== undefined && Object.hasOwn(VERBS, word)
}
