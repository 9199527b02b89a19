// `nlmonctl set`: its help and its flag/argument definitions (oclif's shape, no oclif).

import { attributeFlags } from '../core/attribute-flags.js'
import { arg, defineSpec, flag } from './define.js'

export const setSpec = defineSpec({
  summary: 'Change an nlmon link: up/down, MTU, name, alias, txqueuelen, group.',

  description: `Refuses links whose kind is not nlmon. Renaming needs the link DOWN on most kernels (EBUSY otherwise); --down --name does both in the right order. Prints the link's name, or the changed link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`,

  examples: [
    { description: 'Stop capturing without deleting the link', command: '<%= config.bin %> set nlmon0 --down' },
    {
      description: 'Rename (the link must be DOWN) and bring it back up',
      command: '<%= config.bin %> set nlmon0 --down --name mon-ci && <%= config.bin %> set mon-ci --up',
    },
    '<%= config.bin %> set mon-ci --mtu 65536 --alias "big dumps"',
  ],

  args: {
    link: arg.string({ description: 'Link name or ifindex.', required: true }),
  },

  flags: {
    ...attributeFlags('set'),
    up: flag.boolean({ summary: 'Bring the link UP (start capturing).', exclusive: ['down'] }),
    down: flag.boolean({ summary: 'Take the link DOWN (stop capturing).', exclusive: ['up'] }),
  },

  strict: true,
})
