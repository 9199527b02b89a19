// The builder of the commands' flag and argument definitions, without oclif: objects of oclif's own
// shape (what Flags.string/boolean/integer and Args.string return), so that help, completion, the
// manifest and the README reference still come from them, while the lean start-up path
// (src/lean.ts) and src/core/argv.ts read them without loading @oclif/core. Only the properties the
// parser honours can be given (test/unit/argv-definitions.test.ts walks every command).

import type { Command, Interfaces } from '@oclif/core'

type Char = Interfaces.AlphabetLowercase | Interfaces.AlphabetUppercase

/** What every flag may say: help text, and the properties src/core/argv.ts honours. */
export interface FlagOptions {
  summary?: string
  description?: string
  helpGroup?: string
  helpLabel?: string
  hidden?: boolean
  char?: Char
  aliases?: string[]
  exclusive?: string[]
  required?: boolean
}

export interface OptionFlagOptions<T> extends FlagOptions {
  helpValue?: string
  options?: readonly string[]
  multiple?: boolean
  default?: T
}

export interface BooleanFlagOptions extends FlagOptions {
  allowNo?: boolean
  default?: boolean
}

export interface IntegerFlagOptions extends OptionFlagOptions<number> {
  min?: number
  max?: number
}

export interface ArgOptions {
  description?: string
  hidden?: boolean
  required?: boolean
  options?: readonly string[]
  default?: string
}

type Defaulted = { required: true } | { default: unknown }

function option<T>(options: object, parse: (input: string, context: unknown, definition: never) => Promise<T>) {
  return {
    parse,
    ...options,
    input: [],
    multiple: Boolean((options as { multiple?: boolean }).multiple),
    type: 'option' as const,
  }
}

function stringFlag(options: OptionFlagOptions<string> & Defaulted): Interfaces.OptionFlag<string>
function stringFlag(options?: OptionFlagOptions<string>): Interfaces.OptionFlag<string | undefined>
function stringFlag(
  options: OptionFlagOptions<string> = {},
): Interfaces.OptionFlag<string> | Interfaces.OptionFlag<string | undefined> {
  return option(options, async (input) => input) as unknown as Interfaces.OptionFlag<string | undefined>
}

function integerFlag(options: IntegerFlagOptions & Defaulted): Interfaces.OptionFlag<number>
function integerFlag(options?: IntegerFlagOptions): Interfaces.OptionFlag<number | undefined>
function integerFlag(
  options: IntegerFlagOptions = {},
): Interfaces.OptionFlag<number> | Interfaces.OptionFlag<number | undefined> {
  // oclif's Flags.integer, word for word (its messages are part of the usage errors).
  const parse = async (input: string, _context: unknown, definition: IntegerFlagOptions) => {
    if (!/^-?\d+$/.test(input)) throw new Error(`Expected an integer but received: ${input}`)
    const number = Number.parseInt(input, 10)
    if (definition.min !== undefined && number < definition.min) {
      throw new Error(`Expected an integer greater than or equal to ${definition.min} but received: ${input}`)
    }
    if (definition.max !== undefined && number > definition.max) {
      throw new Error(`Expected an integer less than or equal to ${definition.max} but received: ${input}`)
    }
    return number
  }
  return option(options, parse as never) as unknown as Interfaces.OptionFlag<number | undefined>
}

function booleanFlag(options: BooleanFlagOptions = {}): Interfaces.BooleanFlag<boolean> {
  return {
    parse: async (value: boolean) => value,
    ...options,
    allowNo: Boolean(options.allowNo),
    type: 'boolean',
  } as unknown as Interfaces.BooleanFlag<boolean>
}

/** Flags.string / Flags.integer / Flags.boolean, oclif-free. */
export const flag = { string: stringFlag, integer: integerFlag, boolean: booleanFlag }

function stringArg(options: ArgOptions & Defaulted): Interfaces.Arg<string>
function stringArg(options?: ArgOptions): Interfaces.Arg<string | undefined>
function stringArg(options: ArgOptions = {}): Interfaces.Arg<string> | Interfaces.Arg<string | undefined> {
  // ignoreStdin: oclif reads a missing argument from a piped stdin; nlmonctl never does (a script's
  // `while read …; do nlmonctl add; done` would lose its input), and says so in the definition.
  return {
    parse: async (input: string) => input,
    ...options,
    ignoreStdin: true,
    input: [],
    type: 'option',
  } as unknown as Interfaces.Arg<string | undefined>
}

/** Args.string, oclif-free. */
export const arg = { string: stringArg }

/** A command's definitions and help, as its oclif class exposes them (static summary, flags, …). */
export interface CommandSpec<
  F extends Record<string, unknown> = Record<string, unknown>,
  A extends Record<string, unknown> = Record<string, unknown>,
> {
  summary: string
  description: string
  examples: Command.Example[]
  flags: F
  args: A
  /** false: any number of positional words (argv). */
  strict: boolean
}

export function defineSpec<F extends Record<string, unknown>, A extends Record<string, unknown>>(
  spec: CommandSpec<F, A>,
): CommandSpec<F, A> {
  return spec
}
