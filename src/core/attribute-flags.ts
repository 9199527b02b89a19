// oclif-shaped flags generated from the attribute table, so flags, help and validation never drift
// apart. Built without oclif (src/specs/define.ts): the lean start-up path reads them too.

import type { Interfaces } from '@oclif/core'
import { flag } from '../specs/define.js'
import { attributesFor, type Command } from './attributes.js'

type StringFlag = Interfaces.OptionFlag<string | undefined>

export function attributeFlags(command: Command): Record<string, StringFlag> {
  const flags: Record<string, StringFlag> = {}
  for (const rule of attributesFor(command)) {
    if (rule.flag === 'name' && command === 'add') continue // `add` takes the name as its argument
    flags[rule.flag] = flag.string({
      summary: rule.summary,
      description: `${rule.ifla}: ${rule.rule}`,
      helpValue: rule.valueName,
      aliases: rule.aliases,
      helpGroup: rule.key ? 'ATTRIBUTE' : 'REFUSED',
    })
  }
  return flags
}

/** The raw attribute values the user gave, keyed by table flag, ready for validateAttributes(). */
export function attributeValues(command: Command, flags: Record<string, unknown>): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {}
  for (const rule of attributesFor(command)) {
    const value = flags[rule.flag]
    if (typeof value === 'string') values[rule.flag] = value
  }
  return values
}
