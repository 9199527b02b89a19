// Every command's flag and argument definitions use only what src/core/argv.ts honours, the oclif
// classes and the oclif-free specs are the same definitions, and a definition the parser could not
// honour is refused rather than half-read.
import { Args, Flags } from '@oclif/core'
import { argvInput, commandProblems, definitionProblems, parseArgv, type ArgvInput } from '../../src/core/argv.js'
import { VERBS } from '../../src/core/verbs.js'
import { COMMANDS } from '../../src/index.js'
import { addSpec } from '../../src/specs/add.js'
import { batchSpec } from '../../src/specs/batch.js'
import { delSpec } from '../../src/specs/del.js'
import { GLOBALS } from '../../src/specs/global.js'
import { listSpec } from '../../src/specs/list.js'
import { setSpec } from '../../src/specs/set.js'
import { statsSpec } from '../../src/specs/stats.js'

test.each(Object.keys(COMMANDS))('%s: every property of every definition is one the parser honours', (id) => {
  const command = COMMANDS[id as keyof typeof COMMANDS]
  expect(definitionProblems(argvInput(command))).toEqual([])
  expect(commandProblems(command as unknown as Record<string, unknown>)).toEqual([])
})

test('the oclif classes show the specs: help, completion and the manifest come from the very definitions the lean path parses', () => {
  const specs = { add: addSpec, batch: batchSpec, del: delSpec, list: listSpec, set: setSpec, stats: statsSpec }
  for (const [id, spec] of Object.entries(specs)) {
    const command = COMMANDS[id as keyof typeof COMMANDS]
    expect({
      id,
      summary: command.summary,
      description: command.description,
      examples: command.examples,
      strict: command.strict,
    }).toEqual({
      id,
      summary: spec.summary,
      description: spec.description,
      examples: spec.examples,
      strict: spec.strict,
    })
    expect(command.flags).toBe(spec.flags)
    expect(command.args).toBe(spec.args)
    expect(command.baseFlags).toBe(GLOBALS.baseFlags)
    expect(command.enableJsonFlag).toBe(GLOBALS.enableJsonFlag)
  }
})

test('the verbs (lean path, batch lines) parse the very definitions the oclif classes parse', () => {
  for (const [id, verb] of Object.entries(VERBS)) {
    expect(verb.spec).toBe({ add: addSpec, del: delSpec, list: listSpec, set: setSpec, stats: statsSpec }[id])
    expect(verb.input).toEqual(argvInput(COMMANDS[id as keyof typeof COMMANDS]))
  }
})

const withFlag = (definition: unknown): ArgvInput => ({ flags: { x: definition }, args: {}, strict: true })
const withArgs = (args: Record<string, unknown>): ArgvInput => ({ flags: {}, args, strict: true })

test.each([
  ['env', withFlag(Flags.string({ env: 'X' })), /"env" is not supported/],
  ['dependsOn', withFlag(Flags.string({ dependsOn: ['y'] })), /"dependsOn" is not supported/],
  [
    'relationships',
    withFlag(Flags.string({ relationships: [{ type: 'all', flags: ['y'] }] })),
    /"relationships" is not supported/,
  ],
  ['exactlyOne', withFlag(Flags.string({ exactlyOne: ['y'] })), /"exactlyOne" is not supported/],
  ['atLeastOne', withFlag(Flags.string({ atLeastOne: ['y'] })), /"atLeastOne" is not supported/],
  ['combinable', withFlag(Flags.string({ combinable: ['y'] })), /"combinable" is not supported/],
  ['allowStdin', withFlag(Flags.string({ allowStdin: true })), /"allowStdin" is not supported/],
  ['delimiter', withFlag(Flags.string({ multiple: true, delimiter: ',' })), /"delimiter" is not supported/],
  [
    'multipleNonGreedy',
    withFlag(Flags.string({ multiple: true, multipleNonGreedy: true })),
    /"multipleNonGreedy" is not supported/,
  ],
  ['charAliases', withFlag(Flags.string({ charAliases: ['y'] })), /"charAliases" is not supported/],
  ['deprecated', withFlag(Flags.string({ deprecated: true })), /"deprecated" is not supported/],
  [
    'deprecateAliases',
    withFlag(Flags.string({ aliases: ['y'], deprecateAliases: true })),
    /"deprecateAliases" is not supported/,
  ],
  ['defaultHelp', withFlag(Flags.string({ defaultHelp: async () => 'x' })), /"defaultHelp" is not supported/],
  ['a default function', withFlag(Flags.string({ default: async () => 'x' })), /default computed by a function/],
  ['file flags (exists)', withFlag(Flags.file({ exists: true })), /"exists" is not supported/],
  ['a long char', withFlag({ ...Flags.boolean(), char: 'xy' }), /one character/],
  ['an argument read from stdin', withArgs({ a: Args.string() }), /ignoreStdin: true/],
  [
    'a required argument after an optional one',
    withArgs({ a: Args.string({ ignoreStdin: true }), b: Args.string({ ignoreStdin: true, required: true }) }),
    /required argument follows an optional/,
  ],
  [
    'two variadic arguments',
    withArgs({
      a: Args.string({ ignoreStdin: true, multiple: true, required: true }),
      b: Args.string({ ignoreStdin: true, multiple: true, required: true }),
    }),
    /only one variadic/,
  ],
  [
    'an optional argument beside a variadic one',
    withArgs({ a: Args.string({ ignoreStdin: true, multiple: true }), b: Args.string({ ignoreStdin: true }) }),
    /around a variadic one must be required/,
  ],
])('refused: %s', async (_, input, problem) => {
  expect(definitionProblems(input).join('\n')).toMatch(problem)
  // …and never half-read: parsing with it fails as an internal error, not as the user's mistake
  await expect(parseArgv([], input)).rejects.toThrow(/definitions the parser cannot honour/)
})

test('two flags with one char are refused', () => {
  expect(
    definitionProblems({
      flags: { a: Flags.boolean({ char: 'x' }), b: Flags.boolean({ char: 'x' }) },
      args: {},
      strict: true,
    }),
  ).toEqual(['flag --b: -x is also --a'])
})

test('commands with constraints are refused', () => {
  expect(commandProblems({ constraints: [] })).toEqual(['static constraints is not supported by src/core/argv.ts'])
})
