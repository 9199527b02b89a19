// The one argv parser: single commands (BaseCommand.parse, and the lean path of src/lean.ts) and batch
// lines alike read their words here, against the commands' own flag and argument definitions, which
// keep oclif's shape (help, completion, the manifest and the README reference come from them).
//
// It follows @oclif/core 4's parser step by step (lib/parser/parse.js and validate.js): the same
// reading of --flag VALUE, --flag=VALUE, -cVALUE, -abc, --no-flag, `--`, negative numbers and
// positionals, the same values and types, the same refusals in the same order, phrased as oclif
// phrases them, folded onto one line — so a usage error reads the same wherever it is found.
// test/unit/argv-oclif.test.ts generates argv for every command and compares with oclif's Parser.
// Deliberate differences, each tested as such:
//  - `--boolean=VALUE` is refused. oclif reads it as `--boolean VALUE`: the flag is set and VALUE
//    becomes a positional argument, so `del --if-exists=no x` would also delete a link named "no".
//  - only a definition's own flags are flags: oclif takes --constructor, --toString, … (names
//    inherited from Object.prototype) for flags, drops some silently and refuses others as
//    "Unexpected flag Object"; here they are nonexistent flags like any other.
//  - when several values are wrong at once, oclif checks them concurrently and reports whichever
//    promise rejects first; here: flags' options, then flags' parse(), then the arguments, in order.
//  - a missing argument is never read from standard input (oclif does unless ignoreStdin: every
//    definition must say ignoreStdin: true, so that both agree).
// Definitions it cannot honour are refused up front (definitionProblems, run over every command by
// test/unit/argv-definitions.test.ts): env, dependsOn, relationships, stdin, delimiters, …

import { NlmonctlError } from './errors.js'
import { JSON_FLAG } from '../specs/global.js'

/** A flag definition as oclif's Flags.* (or src/specs/define.ts) build it. */
export interface FlagDefinition {
  type: 'boolean' | 'option'
  char?: string
  aliases?: readonly string[]
  parse?: (input: never, context: unknown, definition: never) => unknown
  options?: readonly string[]
  multiple?: boolean
  exclusive?: readonly string[]
  required?: boolean
  default?: unknown
  allowNo?: boolean
}

/** An argument definition as oclif's Args.* (or src/specs/define.ts) build it. */
export interface ArgDefinition {
  parse?: (input: string, context: unknown, definition: never) => unknown
  options?: readonly string[]
  required?: boolean
  default?: unknown
  multiple?: boolean
  description?: string
  ignoreStdin?: boolean
}

export interface ArgvInput {
  flags: Record<string, unknown>
  args: Record<string, unknown>
  /** false: positional words beyond the arguments are allowed (argv). */
  strict: boolean
}

export interface Parsed {
  args: Record<string, unknown>
  /** The positional words (the arguments' parsed values), in oclif's order: by place among the words. */
  argv: unknown[]
  flags: Record<string, unknown>
}

/** The class of oclif error each refusal corresponds to (the property test compares them). */
export type ArgvErrorKind =
  | 'CLIError' // a flag without its value, an option flag given twice, a boolean given a value
  | 'NonExistentFlagsError'
  | 'UnexpectedArgsError'
  | 'RequiredArgsError'
  | 'FailedFlagValidationError' // exclusive flags, a missing required flag
  | 'FlagInvalidOptionError'
  | 'ArgInvalidOptionError'
  | 'FlagValueError' // a flag's parse() refused its value
  | 'ArgValueError' // an argument's parse() refused its value

/** A usage error (exit 2, INVALID_INPUT), on one line, as for every parser error. */
export class ArgvError extends NlmonctlError {
  constructor(
    readonly kind: ArgvErrorKind,
    message: string,
  ) {
    super('INVALID_INPUT', foldParserMessage(message))
  }
}

/**
 * oclif's parser messages span lines (a header, the problems, "See more help with --help"): one line,
 * pointing at --help. Also used for the errors oclif itself raises outside the parser (unknown command).
 */
export function foldParserMessage(message: string): string {
  const text = message
    // oclif dims the list of failed validations on a colour terminal: drop its SGR escapes.
    // eslint-disable-next-line no-control-regex -- matching the ESC byte is the point
    .replace(/\u001B\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('See more help') && line !== 'The following errors occurred:')
    .join(' ')
    .replace(/\s+/g, ' ')
  return `${text} (see --help)`
}

/** The parser input for a command (oclif class or spec): oclif's aggregateFlags (--json first), args, strict. */
export function argvInput(command: {
  flags?: Record<string, unknown>
  baseFlags?: Record<string, unknown>
  args?: Record<string, unknown>
  strict?: boolean
  enableJsonFlag?: boolean
}): ArgvInput {
  const flags = { ...command.baseFlags, ...command.flags }
  return {
    flags: command.enableJsonFlag ? { json: JSON_FLAG, ...flags } : flags,
    args: command.args ?? {},
    strict: command.strict !== false,
  }
}

// ---------------------------------------------------------------------------------------------
// What the parser honours

/** Properties that change what the parser does: each one is honoured below. */
const FLAG_BEHAVIOUR = new Set([
  'type',
  'char',
  'aliases',
  'parse',
  'options',
  'multiple',
  'exclusive',
  'required',
  'default',
  'allowNo',
])
/** Read by a flag's own parse() (Flags.integer, flag.integer), or only by help, completion and the manifest. */
const FLAG_PASSIVE = new Set([
  'min',
  'max',
  'name',
  'input',
  'summary',
  'description',
  'helpValue',
  'helpGroup',
  'helpLabel',
  'hidden',
])
const ARG_BEHAVIOUR = new Set(['type', 'parse', 'options', 'required', 'default', 'multiple', 'ignoreStdin'])
const ARG_PASSIVE = new Set(['name', 'input', 'description', 'hidden'])

/** Why these definitions cannot be parsed faithfully (none: they can). */
export function definitionProblems(input: ArgvInput): string[] {
  const problems: string[] = []
  const chars = new Map<string, string>()
  for (const [name, raw] of Object.entries(input.flags)) {
    const definition = raw as Record<string, unknown> & FlagDefinition
    for (const [key, value] of Object.entries(definition)) {
      if (value === undefined) continue
      if (!FLAG_BEHAVIOUR.has(key) && !FLAG_PASSIVE.has(key))
        problems.push(`flag --${name}: "${key}" is not supported by src/core/argv.ts`)
    }
    if (definition.type !== 'boolean' && definition.type !== 'option')
      problems.push(`flag --${name}: type ${String(definition.type)}`)
    if (typeof definition.default === 'function')
      problems.push(`flag --${name}: a default computed by a function is not supported`)
    if (definition.parse !== undefined && typeof definition.parse !== 'function')
      problems.push(`flag --${name}: parse is not a function`)
    if (definition.allowNo && definition.type !== 'boolean') problems.push(`flag --${name}: allowNo on an option flag`)
    if ((definition.multiple || definition.options) && definition.type !== 'option')
      problems.push(`flag --${name}: multiple/options on a boolean flag`)
    if (definition.char !== undefined) {
      if (typeof definition.char !== 'string' || definition.char.length !== 1)
        problems.push(`flag --${name}: char must be one character`)
      else if (chars.has(definition.char))
        problems.push(`flag --${name}: -${definition.char} is also --${chars.get(definition.char)}`)
      else chars.set(definition.char, name)
    }
  }
  const args = Object.entries(input.args) as Array<[string, ArgDefinition & Record<string, unknown>]>
  for (const [name, definition] of args) {
    for (const [key, value] of Object.entries(definition)) {
      if (value === undefined) continue
      if (!ARG_BEHAVIOUR.has(key) && !ARG_PASSIVE.has(key))
        problems.push(`argument ${name}: "${key}" is not supported by src/core/argv.ts`)
    }
    if (definition.ignoreStdin !== true) {
      problems.push(`argument ${name}: needs ignoreStdin: true (a missing argument is never read from standard input)`)
    }
    if (typeof definition.default === 'function')
      problems.push(`argument ${name}: a default computed by a function is not supported`)
  }
  // oclif's InvalidArgsSpecError, raised here instead of on every parse.
  const variadic = args.findIndex(([, definition]) => definition.multiple)
  if (variadic !== -1) {
    if (args.some(([, definition], i) => i > variadic && definition.multiple))
      problems.push('only one variadic argument (multiple: true) is allowed')
    for (const [i, [name, definition]] of args.entries()) {
      if (i !== variadic && !definition.required)
        problems.push(`argument ${name}: the arguments around a variadic one must be required`)
    }
  } else {
    const firstOptional = args.findIndex(([, definition]) => !definition.required)
    if (firstOptional !== -1 && args.slice(firstOptional).some(([, definition]) => definition.required)) {
      problems.push('a required argument follows an optional one')
    }
  }
  return problems
}

/** A command-level property the parser cannot honour (constraints, '--': false …), if any. */
export function commandProblems(command: Record<string, unknown>): string[] {
  const problems: string[] = []
  if (command.constraints !== undefined) problems.push('static constraints is not supported by src/core/argv.ts')
  if (command['--'] !== undefined) problems.push("static '--' is not supported by src/core/argv.ts")
  return problems
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Compiled {
  flags: Record<string, FlagDefinition>
  args: Array<[string, ArgDefinition]>
  strict: boolean
  /** aliases (oclif's flagAliases: a one-letter alias also works as -x) → flag */
  aliases: Map<string, string>
}

const compiled = new WeakMap<ArgvInput, Compiled>()

function compile(input: ArgvInput): Compiled {
  let result = compiled.get(input)
  if (result) return result
  const problems = definitionProblems(input)
  if (problems.length > 0) throw new Error(`definitions the parser cannot honour: ${problems.join('; ')}`)
  const flags = input.flags as Record<string, FlagDefinition>
  const aliases = new Map<string, string>()
  for (const [name, definition] of Object.entries(flags))
    for (const alias of definition.aliases ?? []) aliases.set(alias, name)
  result = { flags, args: Object.entries(input.args) as Array<[string, ArgDefinition]>, strict: input.strict, aliases }
  compiled.set(input, result)
  return result
}

type Token = { type: 'flag'; flag: string; input: string } | { type: 'arg'; arg: string | undefined; input: string }

const NEGATION = '--no-'

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Parse words (without the command's name) against a command's definitions; throws an ArgvError. */
export async function parseArgv(words: readonly string[], input: ArgvInput): Promise<Parsed> {
  const c = compile(input)
  const own = (name: string) => Object.hasOwn(c.flags, name)

  const findLong = (word: string): string | undefined => {
    const name = word.slice(2)
    if (own(name)) return name
    const alias = c.aliases.get(name)
    if (alias !== undefined) return alias
    if (word.startsWith(NEGATION)) {
      const negated = word.slice(NEGATION.length)
      const target = own(negated) ? negated : c.aliases.get(negated)
      if (target !== undefined && c.flags[target].type === 'boolean' && c.flags[target].allowNo) return target
    }
    return undefined
  }
  const findShort = (word: string): string | undefined => {
    const char = word[1]
    if (char === undefined) return undefined
    const alias = c.aliases.get(char)
    if (alias !== undefined) return alias
    return Object.keys(c.flags).find((name) => c.flags[name].char === char)
  }
  const find = (word: string): { name: string | undefined; isLong: boolean } => {
    const isLong = word.startsWith('--')
    return { isLong, name: isLong ? findLong(word) : word.startsWith('-') ? findShort(word) : undefined }
  }

  const queue = [...words]
  const tokens: Token[] = []
  const given = new Set<string>()
  const nonExistent: string[] = []
  let current: string | undefined // the last option flag: a `multiple` one takes the words that follow
  let argTokens = 0
  const argNames = c.args.map(([name]) => name)

  /** A word that may be a flag (`value`: the part after '=' of a --flag=value word). */
  const takeFlag = (word: string, value?: string): boolean => {
    const { isLong, name } = find(word)
    if (name === undefined) {
      const eq = word.indexOf('=')
      return eq === -1 ? false : takeFlag(word.slice(0, eq), word.slice(eq + 1))
    }
    const definition = c.flags[name]
    if (definition.type === 'option') {
      if (!definition.multiple && given.has(name))
        throw new ArgvError('CLIError', `Flag --${name} can only be specified once`)
      current = name
      const input =
        value !== undefined ? value : isLong || word.length < 3 ? queue.shift() : word.slice(word[2] === '=' ? 3 : 2)
      // A value that is itself one of the command's flags means the value is missing.
      if (input === undefined || find(input).name !== undefined) {
        throw new ArgvError(
          'CLIError',
          definition.options
            ? `Flag --${name} expects one of these values: ${definition.options.join(', ')}`
            : `Flag --${name} expects a value`,
        )
      }
      given.add(name)
      tokens.push({ type: 'flag', flag: name, input })
    } else {
      if (value !== undefined)
        throw new ArgvError('CLIError', `Flag --${name} takes no value, got ${JSON.stringify(word + '=' + value)}`)
      given.add(name)
      tokens.push({ type: 'flag', flag: name, input: word })
      // -abc: the other letters are flags too
      if (!isLong && word.length > 2) queue.unshift(`-${word.slice(2)}`)
    }
    return true
  }

  let parsingFlags = true
  while (queue.length > 0) {
    const word = queue.shift() as string
    if (parsingFlags && word.startsWith('-') && word !== '-') {
      if (word === '--') {
        parsingFlags = false
        continue
      }
      if (takeFlag(word)) continue
      if (!/^-\d/.test(word)) {
        nonExistent.push(word)
        continue
      }
      // a negative number: a positional word
    }
    if (parsingFlags && current !== undefined && c.flags[current].multiple) {
      tokens.push({ type: 'flag', flag: current, input: word })
      continue
    }
    tokens.push({ type: 'arg', arg: argNames[argTokens++], input: word })
  }

  // The values: flags' options, flags' parse(), then the arguments'. oclif runs these concurrently
  // and reports whichever of several wrong values loses its race first; one wrong value is reported
  // the same either way.
  const { flags, fromDefault } = await parseFlags(c, tokens)
  const { args, argv } = await parseArgs(c, tokens)

  // validate, in oclif's order
  if (nonExistent.length > 0) {
    throw new ArgvError(
      'NonExistentFlagsError',
      `Nonexistent flag${nonExistent.length === 1 ? '' : 's'}: ${nonExistent.join(', ')}`,
    )
  }
  // oclif orders argv by where each value was among the words (a value not among them first).
  argv.sort((a, b) => words.indexOf(a as string) - words.indexOf(b as string))
  const variadic = c.args.some(([, definition]) => definition.multiple)
  if (c.strict && !variadic && argv.length > c.args.length) {
    const extras = argv.slice(c.args.length)
    throw new ArgvError(
      'UnexpectedArgsError',
      `Unexpected argument${extras.length === 1 ? '' : 's'}: ${extras.join(', ')}`,
    )
  }
  const missing = c.args.filter(([name, definition]) => definition.required && args[name] === undefined)
  if (missing.length > 0) throw requiredArgs(c, missing)

  const reasons: string[] = []
  for (const [name, definition] of Object.entries(c.flags)) {
    if (flags[name] !== undefined) {
      for (const other of definition.exclusive ?? []) {
        if (fromDefault.has(other) || fromDefault.has(name)) continue
        if (flags[other] !== undefined) {
          reasons.push(`--${other}=${String(flags[other])} cannot also be provided when using --${name}`)
          break
        }
      }
    } else if (definition.required) {
      reasons.push(`Missing required flag ${name}`)
    }
  }
  if (reasons.length > 0) {
    const unique = [...new Set(reasons)].sort() // oclif's uniq() sorts
    throw new ArgvError(
      'FailedFlagValidationError',
      `The following ${unique.length === 1 ? 'error' : 'errors'} occurred:\n  ${unique.join('\n  ')}`,
    )
  }
  return { args, argv, flags }
}

async function parseArgs(
  c: Compiled,
  tokens: readonly Token[],
): Promise<{ args: Record<string, unknown>; argv: unknown[] }> {
  const args: Record<string, unknown> = {}
  const argv: unknown[] = []
  const argTokens = tokens.filter((t): t is Extract<Token, { type: 'arg' }> => t.type === 'arg')
  const parse = async (name: string, definition: ArgDefinition, input: string) => {
    if (definition.options && !definition.options.includes(input)) {
      throw new ArgvError('ArgInvalidOptionError', `Expected ${input} to be one of: ${definition.options.join(', ')}`)
    }
    let value: unknown = input
    try {
      if (definition.parse)
        value = await definition.parse(input, { token: { arg: name, input, type: 'arg' } }, definition as never)
    } catch (error) {
      throw new ArgvError('ArgValueError', message(error))
    }
    argv.push(value)
    args[name] = value
  }
  const applyDefault = (name: string, definition: ArgDefinition) => {
    if (args[name] !== undefined) return
    if (!definition.default && definition.default !== false) return // oclif skips '' and 0 too
    const value = definition.default
    if (Array.isArray(value)) argv.push(...value)
    else argv.push(value)
    args[name] = value
  }

  const variadic = c.args.findIndex(([, definition]) => definition.multiple)
  if (variadic === -1) {
    for (const [name, definition] of c.args) {
      const token = argTokens.find((t) => t.arg === name)
      if (token) await parse(name, definition, token.input)
      applyDefault(name, definition)
    }
    for (const token of argTokens) if (token.arg === undefined || args[token.arg] === undefined) argv.push(token.input)
    return { args, argv }
  }
  const inputs = argTokens.map((t) => t.input)
  for (const [name, definition] of c.args.slice(0, variadic)) {
    const input = inputs.shift()
    if (input !== undefined) await parse(name, definition, input)
    applyDefault(name, definition)
  }
  const after: Array<[string, ArgDefinition, string]> = []
  for (let i = c.args.length - 1; i > variadic; i--) {
    const input = inputs.pop()
    if (input !== undefined) after.unshift([...c.args[i], input])
  }
  const [name, definition] = c.args[variadic]
  if (inputs.length > 0) {
    const values: unknown[] = []
    for (const input of inputs) {
      await parse(name, definition, input)
      values.push(args[name])
    }
    args[name] = values
  }
  for (const [afterName, afterDefinition, input] of after) await parse(afterName, afterDefinition, input)
  applyDefault(name, definition)
  for (const [restName, restDefinition] of c.args.slice(variadic + 1)) applyDefault(restName, restDefinition)
  return { args, argv }
}

async function parseFlags(
  c: Compiled,
  tokens: readonly Token[],
): Promise<{ flags: Record<string, unknown>; fromDefault: Set<string> }> {
  const byFlag = new Map<string, string[]>()
  for (const token of tokens) {
    if (token.type !== 'flag') continue
    const inputs = byFlag.get(token.flag) ?? []
    inputs.push(token.input)
    byFlag.set(token.flag, inputs)
  }
  for (const [name, { type, options }] of Object.entries(c.flags)) {
    if (type !== 'option' || !options) continue
    for (const input of byFlag.get(name) ?? []) {
      if (!options.includes(input))
        throw new ArgvError('FlagInvalidOptionError', `Expected --${name}=${input} to be one of: ${options.join(', ')}`)
    }
  }
  const flags: Record<string, unknown> = {}
  const fromDefault = new Set<string>()
  for (const [name, definition] of Object.entries(c.flags)) {
    const inputs = byFlag.get(name)
    const parse = async (input: unknown) => {
      if (!definition.parse) return input
      try {
        return await definition.parse(
          input as never,
          { token: { flag: name, input, type: 'flag' } },
          definition as never,
        )
      } catch (error) {
        throw new ArgvError('FlagValueError', `Parsing --${name} \n\t${message(error)}`)
      }
    }
    let value: unknown
    if (inputs !== undefined) {
      const last = inputs[inputs.length - 1]
      if (definition.type === 'boolean') {
        const negations = [name, ...(definition.aliases ?? [])].map((n) => `${NEGATION}${n}`)
        value = await parse(!negations.includes(last))
      } else if (definition.multiple) {
        const values: unknown[] = []
        for (const input of inputs) values.push(await parse(input))
        value = values
      } else {
        value = await parse(last)
      }
    } else if (definition.type === 'boolean' || definition.default !== undefined) {
      value = definition.default // not parsed, as in oclif
      fromDefault.add(name)
    }
    if (value !== undefined) flags[name] = value
  }
  return { flags, fromDefault }
}

function requiredArgs(c: Compiled, missing: Array<[string, ArgDefinition]>): ArgvError {
  // oclif's RequiredArgsError: a two-column list of the missing arguments (folded onto one line).
  const width = Math.max(...missing.map(([name]) => name.length))
  const list = missing.map(([name, definition]) => {
    const description = definition.options
      ? `(${definition.options.join('|')}) ${definition.description}`
      : definition.description
    return description ? `${name.padEnd(width)}  ${description}` : name
  })
  let text = `Missing ${missing.length} required arg${missing.length === 1 ? '' : 's'}:\n${list.join('\n')}`
  const multiple = Object.entries(c.flags)
    .filter(([, definition]) => definition.type === 'option' && definition.multiple)
    .map(([name]) => `--${name}`)
  if (multiple.length > 0) {
    text += `\n\nNote: ${multiple.join(', ')} allow${multiple.length === 1 ? 's' : ''} multiple values. Because of this you need to provide all arguments before providing ${multiple.length === 1 ? 'that flag' : 'those flags'}.`
    text += '\nAlternatively, you can use "--" to signify the end of the flags and the beginning of arguments.'
  }
  return new ArgvError('RequiredArgsError', text)
}
