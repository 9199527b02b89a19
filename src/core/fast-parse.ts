// A fast path for batch lines: oclif's parser costs ~0.3 ms a line on a fast machine (ten times that in
// a TCG guest), more than a netlink round trip. For the plain shapes batch lines take — known long flags
// (--f v, --f=v), boolean flags, -c v, positionals, `--` — this reads the words against the very same
// oclif flag and argument definitions. Anything else (an unknown or repeated flag, a missing value, an
// exclusive pair, a surplus or missing argument, a flag with options, `multiple`, an env var…) returns
// undefined, and the caller asks oclif's own parser, which then also phrases any error.
// test/unit/fast-parse.test.ts checks that both agree, line by line.

interface FlagDef {
  type: 'boolean' | 'option'
  char?: string
  aliases?: string[]
  exclusive?: string[]
  default?: unknown
  multiple?: boolean
  options?: readonly string[]
  allowNo?: boolean
  required?: boolean
  env?: string
  dependsOn?: string[]
  relationships?: unknown
  exactlyOne?: string[]
  atLeastOne?: string[]
  allowStdin?: unknown
}

interface ArgDef {
  required?: boolean
  default?: unknown
  options?: readonly string[]
}

export interface FastParsed {
  args: Record<string, unknown>
  argv: string[]
  flags: Record<string, unknown>
}

function plain(flag: FlagDef): boolean {
  if (flag.multiple || flag.options || flag.required || flag.env || flag.dependsOn || flag.relationships) return false
  if (flag.exactlyOne || flag.atLeastOne || flag.allowStdin || typeof flag.default === 'function') return false
  return flag.type === 'option' || (flag.type === 'boolean' && !flag.allowNo)
}

export function fastParse(
  words: readonly string[],
  flagDefs: Record<string, unknown>,
  argDefs: Record<string, unknown>,
  strict: boolean,
): FastParsed | undefined {
  const flags = flagDefs as Record<string, FlagDef>
  const byLong = new Map<string, string>()
  const byChar = new Map<string, string>()
  for (const [name, def] of Object.entries(flags)) {
    if (!plain(def)) return undefined
    byLong.set(name, name)
    for (const alias of def.aliases ?? []) byLong.set(alias, name)
    if (def.char) byChar.set(def.char, name)
  }
  const values: Record<string, unknown> = {}
  const positionals: string[] = []
  const set = (name: string, value: unknown): boolean => {
    if (name in values) return false // repeated: let oclif decide
    values[name] = value
    return true
  }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]
    if (word === '--') {
      positionals.push(...words.slice(i + 1))
      break
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word)
      continue
    }
    let name: string | undefined
    let inline: string | undefined
    if (word.startsWith('--')) {
      const eq = word.indexOf('=')
      name = byLong.get(eq < 0 ? word.slice(2) : word.slice(2, eq))
      inline = eq < 0 ? undefined : word.slice(eq + 1)
    } else if (word.length === 2) {
      name = byChar.get(word[1])
    }
    if (name === undefined) return undefined
    const def = flags[name]
    if (def.type === 'boolean') {
      if (inline !== undefined || !set(name, true)) return undefined
      continue
    }
    let value = inline
    if (value === undefined) {
      const next = words[i + 1]
      if (next === undefined || next.startsWith('-')) return undefined
      value = next
      i++
    }
    if (!set(name, value)) return undefined
  }
  for (const name of Object.keys(values)) {
    for (const other of flags[name].exclusive ?? []) if (other in values) return undefined
  }
  for (const [name, def] of Object.entries(flags)) {
    if (!(name in values) && def.default !== undefined) values[name] = def.default
  }
  const args: Record<string, unknown> = {}
  const argNames = Object.keys(argDefs)
  for (const [index, name] of argNames.entries()) {
    const def = argDefs[name] as ArgDef
    if (def.options || def.default !== undefined) return undefined
    if (index < positionals.length) args[name] = positionals[index]
    else if (def.required) return undefined
  }
  if (strict && positionals.length > argNames.length) return undefined
  return { args, argv: positionals, flags: values }
}
