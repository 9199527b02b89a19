// batch's fast parser must read every line exactly as oclif's parser does, or step aside (undefined).
import { Flags, Parser } from '@oclif/core'
import Add from '../../src/commands/add.js'
import Del from '../../src/commands/del.js'
import List from '../../src/commands/list.js'
import SetCommand from '../../src/commands/set.js'
import Stats from '../../src/commands/stats.js'
import Batch from '../../src/commands/batch.js'
import { fastParse } from '../../src/core/fast-parse.js'

const COMMANDS = { add: Add, del: Del, list: List, set: SetCommand, stats: Stats, batch: Batch }

const lines: Array<[keyof typeof COMMANDS, string[]]> = [
  ['add', []],
  ['add', ['mon0']],
  ['add', ['mon0', '--down']],
  ['add', ['--down', 'mon0', '--mtu', '4096', '--alias', 'two words']],
  ['add', ['mon0', '--mtu=4096', '--txqueuelen', '7', '--group', 'default', '--if-not-exists']],
  ['add', ['cap%d', '--netns', 'blue', '--json']],
  ['add', ['mon0', '--lladdr', '00:11:22:33:44:55']],
  ['add', ['mon0', '--alias=']],
  ['add', ['--', '-odd']],
  ['del', ['mon0']],
  ['del', ['mon0', 'mon1', '7']],
  ['del', ['--all', '--netns', 'blue']],
  ['del', ['mon0', '--if-exists']],
  ['list', []],
  ['list', ['--json']],
  ['set', ['mon0', '--up']],
  ['set', ['mon0', '--down', '--name', 'mon-ci']],
  ['set', ['7', '--mtu', '65536', '--alias', 'big dumps']],
  ['stats', []],
  ['stats', ['mon0', 'mon1', '--json']],
  ['stats', ['--interval', '0.5']],
  ['batch', ['-f', '/tmp/x', '--continue']],
  ['batch', ['-', '--json']],
]

// Shapes the fast path leaves to oclif (it must return undefined for them, never a different answer).
const declined: Array<[keyof typeof COMMANDS, string[]]> = [
  ['add', ['mon0', '--no-such-flag']],
  ['add', ['mon0', '--mtu']],
  ['add', ['mon0', '--mtu', '--down']],
  ['add', ['mon0', 'extra']],
  ['add', ['mon0', '--mtu', '1', '--mtu', '2']],
  ['add', ['mon0', '--down=true']],
  ['set', ['mon0', '--up', '--down']],
  ['set', []],
  ['add', ['-x']],
  ['stats', ['-w5']],
]

const defs = (id: keyof typeof COMMANDS) => {
  const command = COMMANDS[id]
  return {
    flags: { ...command.baseFlags, json: Flags.boolean(), ...command.flags } as Record<string, unknown>,
    args: (command.args ?? {}) as Record<string, unknown>,
    strict: command.strict ?? true,
  }
}

test.each(lines)('%s %j: the same as oclif', async (id, words) => {
  const { flags, args, strict } = defs(id)
  const fast = fastParse(words, flags, args, strict)
  expect(fast).toBeDefined()
  const oclif = await Parser.parse(words, { flags: flags as never, args: args as never, strict })
  expect(fast).toEqual({ args: oclif.args, argv: oclif.argv, flags: oclif.flags })
})

test.each(declined)('%s %j: left to oclif', (id, words) => {
  const { flags, args, strict } = defs(id)
  expect(fastParse(words, flags, args, strict)).toBeUndefined()
})
