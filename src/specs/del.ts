// `nlmonctl del`: its help and its flag definitions (oclif's shape, no oclif).

import { defineSpec, flag } from './define.js'

export const delSpec = defineSpec({
  summary: 'Delete nlmon links, and only nlmon links.',

  description: `The kernel deletes any link it is asked to (RTM_DELLINK ignores the kind), so del looks each link up, checks that its kind is nlmon, and deletes it by ifindex. Links of any other kind (lo, veth, bridge, …) are refused and left untouched. All arguments are checked before anything is deleted: one refused or missing link means none is deleted. An argument made only of digits is an ifindex. Prints nothing on success (the deleted links with --json).`,

  examples: [
    '<%= config.bin %> del nlmon0',
    { description: 'No error when it is already gone', command: '<%= config.bin %> del nlmon0 --if-exists' },
    { description: 'Remove every nlmon link in a namespace', command: '<%= config.bin %> del --all --netns blue' },
  ],

  args: {},

  flags: {
    'if-exists': flag.boolean({ summary: 'Succeed when a named link does not exist.' }),
    all: flag.boolean({ summary: 'Delete every nlmon link in the namespace.' }),
  },

  // The links to delete are the positional words (argv), as many as given.
  strict: false,
})
