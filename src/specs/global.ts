// The flags every command takes: --json (oclif adds it to a command with enableJsonFlag; this is
// the same definition, for the parser) and --netns (BaseCommand's baseFlags).

import { flag } from './define.js'

/** oclif's own --json flag (aggregateFlags in @oclif/core), word for word. */
export const JSON_FLAG = flag.boolean({ description: 'Format output as json.', helpGroup: 'GLOBAL' })

export const GLOBAL_FLAGS = {
  netns: flag.string({
    summary: 'Network namespace: a name under /run/netns, or a path such as /proc/PID/ns/net.',
    helpGroup: 'GLOBAL',
  }),
}

/** What BaseCommand adds to every command: the global flags, and --json. */
export const GLOBALS = { baseFlags: GLOBAL_FLAGS, enableJsonFlag: true } as const
