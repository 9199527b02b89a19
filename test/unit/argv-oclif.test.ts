// src/core/argv.ts against oclif's own parser (Parser.parse of @oclif/core), on generated argv:
// for every command of the CLI, and for definitions that use every property the parser honours
// (built with oclif's Flags/Args, and with src/specs/define.ts), both must give the same verdict,
// the same values of the same types, and the same error class with the same message.
// The deliberate exceptions (documented in src/core/argv.ts) are checked for what they are:
//  1. `--boolean=VALUE`: oclif reads it as `--boolean VALUE` (the flag set, VALUE a positional
//     word); argv.ts refuses it. Wherever argv.ts refuses one, oclif's answer must be argv.ts's
//     answer for the same words with `--boolean VALUE` written apart — so nothing else differs.
//  2. flag names inherited from Object.prototype (--constructor, --toString, --__proto__): oclif
//     takes them for flags (some silently dropped, others "Unexpected flag Object"); argv.ts says
//     "Nonexistent flag". Left out of the generated words, tested on their own below.
//  3. several wrong values at once (an option flag's value, an integer, an argument's option): oclif
//     checks them concurrently and reports whichever promise rejects first, an accident of microtask
//     timing; argv.ts reports flags' options, then flags' values, then arguments, in order. Both then
//     refuse a value, and argv.ts also refuses oclif's one once the others are gone.
import { Args, Errors, Flags, Parser } from '@oclif/core'
import fc from 'fast-check'
import { ArgvError, argvInput, foldParserMessage, parseArgv, type ArgvInput } from '../../src/core/argv.js'
import { arg, flag } from '../../src/specs/define.js'
import { COMMANDS } from '../../src/index.js'

type Outcome =
  | { ok: true; args: Record<string, unknown>; argv: unknown[]; flags: Record<string, unknown> }
  | { ok: false; kind: string; message: string }

const PARSER_ERRORS = new Set([
  'NonExistentFlagsError',
  'UnexpectedArgsError',
  'RequiredArgsError',
  'FailedFlagValidationError',
  'FlagInvalidOptionError',
  'ArgInvalidOptionError',
])

async function oclif(words: readonly string[], input: ArgvInput): Promise<Outcome> {
  try {
    const out = await Parser.parse([...words], {
      flags: input.flags as never,
      args: input.args as never,
      strict: input.strict,
    })
    return { ok: true, args: out.args, argv: out.argv, flags: out.flags }
  } catch (error) {
    const e = error as Error
    const name = e.constructor.name
    // An error that is none of the parser's own came from a flag's or an argument's parse().
    const kind = PARSER_ERRORS.has(name)
      ? name
      : e instanceof Errors.CLIError && !e.message.startsWith('Parsing --')
        ? 'CLIError'
        : e.message.startsWith('Parsing --')
          ? 'FlagValueError'
          : 'ArgValueError'
    return { ok: false, kind, message: foldParserMessage(e.message) }
  }
}

async function ours(words: readonly string[], input: ArgvInput): Promise<Outcome> {
  try {
    const out = await parseArgv(words, input)
    return { ok: true, ...out }
  } catch (error) {
    if (!(error instanceof ArgvError)) throw error
    return { ok: false, kind: error.kind, message: error.message }
  }
}

const BOOLEAN_WITH_VALUE = /^Flag --[^ ]+ takes no value, got ("(?:[^"\\]|\\.)*")/

/** argv.ts's answer, and the words with each refused `--boolean=VALUE` written `--boolean VALUE`. */
async function oursSplitting(
  words: readonly string[],
  input: ArgvInput,
): Promise<{ outcome: Outcome; split: boolean; words: string[] }> {
  let current = [...words]
  let split = false
  for (;;) {
    const outcome = await ours(current, input)
    const match = !outcome.ok && outcome.kind === 'CLIError' ? BOOLEAN_WITH_VALUE.exec(outcome.message) : null
    if (!match) return { outcome, split, words: current }
    // The occurrence read as a flag (an earlier one may be another flag's value): words are read
    // left to right, so it is the first whose prefix of the words already draws this refusal.
    const word = JSON.parse(match[1]) as string
    let at = -1
    for (let i = current.indexOf(word); i !== -1 && at === -1; i = current.indexOf(word, i + 1)) {
      const prefix = await ours(current.slice(0, i + 1), input)
      if (!prefix.ok && !outcome.ok && prefix.message === outcome.message) at = i
    }
    expect(at).toBeGreaterThanOrEqual(0)
    const eq = word.indexOf('=')
    current = [...current.slice(0, at), word.slice(0, eq), word.slice(eq + 1), ...current.slice(at + 1)]
    split = true
  }
}

/** Refusals of a value, which oclif checks concurrently (see exception 3). */
const VALUE_ERRORS = new Set(['FlagValueError', 'ArgValueError', 'FlagInvalidOptionError', 'ArgInvalidOptionError'])

/** What oclif made of each generated argv (accepted, or its error class), to check the coverage. */
const seen = new Map<string, Map<string, number>>()
const tally = (scope: string, outcome: Outcome) => {
  const kinds = seen.get(scope) ?? new Map<string, number>()
  const kind = outcome.ok ? 'accepted' : outcome.kind
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  seen.set(scope, kinds)
}

async function compare(
  words: readonly string[],
  input: ArgvInput,
  reference: ArgvInput = input,
  scope = '',
): Promise<void> {
  const theirs = await oclif(words, reference)
  tally(scope, theirs)
  const { outcome: mine, split, words: splitWords } = await oursSplitting(words, input)
  if (!split) {
    if (
      !mine.ok &&
      !theirs.ok &&
      VALUE_ERRORS.has(mine.kind) &&
      VALUE_ERRORS.has(theirs.kind) &&
      mine.message !== theirs.message
    ) {
      // Exception 3: several wrong values, and oclif's concurrent checks reported another of them
      // first. Both refuse a value; each value's refusal is phrased alike (the cases of one wrong value).
      expect(await refusesAValue(words, input, theirs.message)).toBe(true)
      return
    }
    expect({ words, outcome: mine }).toStrictEqual({ words, outcome: theirs })
    return
  }
  // Exception 1: the same, but for where a split-off VALUE sorts in argv (oclif orders argv by each
  // word's place among the words it was given, and VALUE was not one of them), which also decides
  // which words an "Unexpected arguments" lists.
  expect({ words, ok: mine.ok }).toEqual({ words, ok: theirs.ok })
  if (mine.ok && theirs.ok) {
    expect({ words, args: mine.args, flags: mine.flags }).toStrictEqual({
      words,
      args: theirs.args,
      flags: theirs.flags,
    })
    expect([...mine.argv].sort()).toStrictEqual([...theirs.argv].sort())
  } else if (!mine.ok && !theirs.ok) {
    if (VALUE_ERRORS.has(mine.kind) && VALUE_ERRORS.has(theirs.kind)) {
      if (mine.message !== theirs.message) expect(await refusesAValue(splitWords, input, theirs.message)).toBe(true) // and exception 3
      return
    }
    expect({ words, kind: mine.kind }).toEqual({ words, kind: theirs.kind })
    if (mine.kind !== 'UnexpectedArgsError')
      expect({ words, message: mine.message }).toEqual({ words, message: theirs.message })
  }
}

/**
 * Exception 3's check: argv.ts refuses oclif's value too once the values it reported first are
 * taken away (a word, or a flag with its value, at a time).
 */
async function refusesAValue(words: readonly string[], input: ArgvInput, message: string): Promise<boolean> {
  const seen = new Set<string>()
  const queue: string[][] = [[...words]]
  while (queue.length > 0) {
    const current = queue.shift() as string[]
    const outcome = await ours(current, input)
    if (!outcome.ok && outcome.message === message) return true
    if (outcome.ok || !VALUE_ERRORS.has(outcome.kind)) continue
    for (let i = 0; i < current.length; i++) {
      for (const run of [1, 2]) {
        const next = [...current.slice(0, i), ...current.slice(i + run)]
        const key = JSON.stringify(next)
        if (!seen.has(key)) {
          seen.add(key)
          queue.push(next)
        }
      }
    }
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// Generated words

interface Definition {
  type?: string
  char?: string
  aliases?: string[]
  allowNo?: boolean
  options?: readonly string[]
}

/** Words of two kinds: the ordinary ones (flags as documented, plain values), and the odd shapes. */
function alphabet(input: ArgvInput): { common: string[]; odd: string[] } {
  const common = new Set(['mon0', '7', 'p', 'q', '16', 'default'])
  const odd = new Set([
    '0',
    '-5',
    '',
    '-',
    '--',
    'x=y',
    'a b',
    '--nope',
    '-x',
    '-q5',
    'true',
    '0.5',
    'nlmon%d',
    '=',
    '-1',
  ])
  const booleanChars: string[] = []
  for (const [name, raw] of Object.entries(input.flags)) {
    const definition = raw as Definition
    for (const spelling of [name, ...(definition.aliases ?? [])]) {
      common.add(`--${spelling}`)
      if (spelling.length === 1) common.add(`-${spelling}`)
      if (definition.allowNo) common.add(`--no-${spelling}`)
      else odd.add(`--no-${spelling}`)
      if (definition.type === 'option') common.add(`--${spelling}=v`)
      else odd.add(`--${spelling}=v`)
      odd.add(`--${spelling}=`)
      odd.add(`--${spelling}=--json`)
      odd.add(`--no-${spelling}=x`)
    }
    if (definition.char) {
      common.add(`-${definition.char}`)
      odd.add(`-${definition.char}5`)
      odd.add(`-${definition.char}=v`)
      odd.add(`-${definition.char}-x`)
      if (definition.type === 'boolean') booleanChars.push(definition.char)
    }
    for (const option of definition.options ?? []) common.add(option)
  }
  for (const [, raw] of Object.entries(input.args))
    for (const option of (raw as Definition).options ?? []) common.add(option)
  if (booleanChars.length > 0) {
    odd.add(`-${booleanChars.join('')}`)
    odd.add(`-${booleanChars[0]}x`)
    odd.add(`-${booleanChars[0]}${booleanChars[0]}`)
  }
  return { common: [...common], odd: [...odd] }
}

const argvOf = (input: ArgvInput) => {
  const { common, odd } = alphabet(input)
  const word = fc.oneof(
    { arbitrary: fc.constantFrom(...common), weight: 10 },
    { arbitrary: fc.constantFrom(...odd), weight: 3 },
    { arbitrary: fc.string({ maxLength: 3 }), weight: 1 },
  )
  return fc.array(word, { maxLength: 8 })
}

// ---------------------------------------------------------------------------------------------
// Every command of the CLI

const RUNS = Number(process.env.ARGV_RUNS ?? 1500) // ARGV_RUNS=20000 for a longer soak

describe.each(Object.keys(COMMANDS))('%s: argv.ts reads every argv as oclif does', (id) => {
  const input = argvInput(COMMANDS[id as keyof typeof COMMANDS])

  test(`${RUNS} generated argv`, async () => {
    await fc.assert(
      fc.asyncProperty(argvOf(input), (words) => compare(words, input, input, id)),
      { numRuns: RUNS },
    )
    // The words reach both sides of the parser: accepted argv, and refusals.
    const kinds = seen.get(id) as Map<string, number>
    expect(kinds.get('accepted') ?? 0).toBeGreaterThan(RUNS / 20)
    expect(RUNS - (kinds.get('accepted') ?? 0)).toBeGreaterThan(RUNS / 20)
  })
})

afterAll(() => {
  // Every class of refusal came up (with the definitions that can produce it).
  const all = new Set([...seen.values()].flatMap((kinds) => [...kinds.keys()]))
  for (const kind of ['accepted', 'CLIError', ...PARSER_ERRORS, 'FlagValueError', 'ArgValueError'])
    expect([kind, all.has(kind)]).toEqual([kind, true])
})

test('the usage errors the CLI tests pin, and a few shapes, read as oclif reads them', async () => {
  const cases: Array<[keyof typeof COMMANDS, string[]]> = [
    ['add', ['x', 'y']],
    ['add', ['--frobnicate']],
    ['add', ['--json', '--nope']],
    ['add', ['mon0', '--mtu', '1', '--mtu', '2']],
    ['add', ['--txqlen', '1', '--txqueuelen', '2']],
    ['add', ['--mtu=--down']],
    ['add', ['--', '-odd']],
    ['add', ['--lladdr=02:00:00:00:00:01']],
    ['set', []],
    ['set', ['nlmon0', '--up', '--down']],
    ['set', ['x', '--name', 'a', 'b']],
    ['del', ['a', 'b', 'a']],
    ['del', ['-5', '--all']],
    ['stats', ['-w5']],
    ['stats', ['--interval', '-w']],
    ['stats', ['-ww', 'x']],
    ['list', ['--netns=']],
    ['list', ['--netns', 'a', '--netns', 'b']],
    ['batch', ['-f', '-', 'x']],
    ['batch', ['-f-x']],
    ['capture', ['-c5', '-w', 'f', '--hex']],
    ['trace', ['--only-cmd', '--', 'ip', '-br', 'link']],
    ['trace', ['ip', 'link']],
    ['prune', ['x']],
  ]
  for (const [id, words] of cases) await compare(words, argvInput(COMMANDS[id]))
})

// ---------------------------------------------------------------------------------------------
// Every property the parser honours, in definitions built by oclif itself …

const everything = (build: 'oclif' | 'ours'): ArgvInput => ({
  flags:
    build === 'oclif'
      ? {
          json: Flags.boolean({ description: 'Format output as json.' }),
          count: Flags.integer({ char: 'c', min: 1, max: 10 }),
          level: Flags.integer({ default: 3 }),
          tag: Flags.string({ char: 't', multiple: true, options: ['a', 'b', 'c'] }),
          mode: Flags.string({ options: ['x', 'y'], default: 'x' }),
          out: Flags.string({ aliases: ['o', 'output'], required: true }),
          color: Flags.boolean({ allowNo: true, aliases: ['colour'] }),
          up: Flags.boolean({ char: 'u', exclusive: ['down'] }),
          down: Flags.boolean({ char: 'd', exclusive: ['up', 'mode'] }),
          verbose: Flags.boolean({ char: 'v', default: true }),
        }
      : {
          json: flag.boolean({ description: 'Format output as json.' }),
          count: flag.integer({ char: 'c', min: 1, max: 10 }),
          level: flag.integer({ default: 3 }),
          tag: flag.string({ char: 't', multiple: true, options: ['a', 'b', 'c'] }),
          mode: flag.string({ options: ['x', 'y'], default: 'x' }),
          out: flag.string({ aliases: ['o', 'output'], required: true }),
          color: flag.boolean({ allowNo: true, aliases: ['colour'] }),
          up: flag.boolean({ char: 'u', exclusive: ['down'] }),
          down: flag.boolean({ char: 'd', exclusive: ['up', 'mode'] }),
          verbose: flag.boolean({ char: 'v', default: true }),
        },
  args:
    build === 'oclif'
      ? {
          first: Args.string({
            required: true,
            options: ['p', 'q', 'r'],
            description: 'The first.',
            ignoreStdin: true,
          }),
          second: Args.integer({ ignoreStdin: true, description: 'A number.' }),
          third: Args.string({ default: 'dflt', ignoreStdin: true }),
        }
      : {
          first: arg.string({ required: true, options: ['p', 'q', 'r'], description: 'The first.' }),
          second: Args.integer({ ignoreStdin: true, description: 'A number.' }),
          third: arg.string({ default: 'dflt' }),
        },
  strict: true,
})

const variadic = (strict: boolean): ArgvInput => ({
  flags: {
    tag: Flags.string({ char: 't', multiple: true }),
    force: Flags.boolean({ char: 'f' }),
    level: Flags.integer({ char: 'l', max: 3 }),
  },
  args: {
    head: Args.string({ required: true, ignoreStdin: true }),
    rest: Args.string({ multiple: true, required: true, options: ['a', 'b', 'mon0', '7'], ignoreStdin: true }),
    tail: Args.integer({ required: true, ignoreStdin: true }),
  },
  strict,
})

const loose: ArgvInput = {
  flags: { name: Flags.string({ char: 'n', required: true }), quiet: Flags.boolean({ char: 'q', allowNo: true }) },
  args: {
    one: Args.string({ ignoreStdin: true, options: ['p', 'q'] }),
    two: Args.string({ ignoreStdin: true, default: 'zz' }),
  },
  strict: false,
}

const SYNTHETIC_RUNS = Math.round((RUNS * 5) / 3)

test.each([
  [
    'integer min/max, options, multiple, allowNo, aliases (one letter too), char, exclusive, required, defaults; optional integer argument',
    everything('oclif'),
  ],
  ['variadic argument between required ones, strict', variadic(true)],
  ['variadic argument between required ones, not strict', variadic(false)],
  ['strict: false with optional arguments, a required flag, --no-', loose],
])(`${SYNTHETIC_RUNS} generated argv: %s`, async (scope, input) => {
  await fc.assert(
    fc.asyncProperty(argvOf(input), (words) => compare(words, input, input, scope)),
    { numRuns: SYNTHETIC_RUNS },
  )
})

// … and by src/specs/define.ts: its builders behave as oclif's (flag.integer is Flags.integer).
test(`${SYNTHETIC_RUNS} generated argv: definitions built by src/specs/define.ts read as oclif's own`, async () => {
  const mine = everything('ours')
  const reference = everything('oclif')
  await fc.assert(
    fc.asyncProperty(argvOf(reference), (words) => compare(words, mine, reference, 'define.ts')),
    { numRuns: SYNTHETIC_RUNS },
  )
})

test('exception 2: names inherited from Object.prototype are no flags (oclif takes them for flags)', async () => {
  const input = argvInput(COMMANDS.add)
  for (const word of ['--constructor', '--toString', '--__proto__', '--hasOwnProperty', '--valueOf=1']) {
    expect(await ours([word], input)).toEqual({
      ok: false,
      kind: 'NonExistentFlagsError',
      message: `Nonexistent flag: ${word} (see --help)`,
    })
    const theirs = await oclif([word], input)
    // oclif: silently dropped (--toString), or "Unexpected flag Object" (--constructor) — never "Nonexistent flag"
    expect(theirs.ok ? 'accepted' : theirs.message).not.toMatch(/^Nonexistent flag/)
  }
  expect(await ours(['--alias', '--constructor'], input)).toMatchObject({ ok: true, flags: { alias: '--constructor' } })
})

test('exception 1: --boolean=VALUE is refused (oclif: the flag, plus VALUE as a positional word)', async () => {
  const del = argvInput(COMMANDS.del)
  expect(await ours(['--if-exists=no', 'x'], del)).toEqual({
    ok: false,
    kind: 'CLIError',
    message: 'Flag --if-exists takes no value, got "--if-exists=no" (see --help)',
  })
  // what oclif makes of it: `del --if-exists no x` — a link named "no" would be deleted too
  expect(await oclif(['--if-exists=no', 'x'], del)).toMatchObject({
    ok: true,
    argv: ['no', 'x'],
    flags: { 'if-exists': true },
  })
})
