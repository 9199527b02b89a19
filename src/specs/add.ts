// `nlmonctl add`: its help and its flag/argument definitions (oclif's shape, no oclif).

import { attributeFlags } from '../core/attribute-flags.js'
import { ruleForFlag } from '../core/attributes.js'
import { arg, defineSpec, flag } from './define.js'

export const addSpec = defineSpec({
  summary: 'Create an nlmon link; it is UP (capturing) unless --down.',

  description: `An nlmon link mirrors the netlink traffic of its network namespace, but only while it is UP, so add brings it up by default. Without NAME the kernel's naming applies (nlmon0, nlmon1, …); a NAME with "%d" gets the lowest free number. Prints the link's name (so l=$(nlmonctl add) works), or the link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`,

  examples: [
    { description: 'Create a capturing link and keep its name', command: 'l=$(<%= config.bin %> add)' },
    {
      description: 'A named link with an alias, left DOWN',
      command: '<%= config.bin %> add mon0 --alias "ci capture" --down',
    },
    { description: 'Idempotent setup in a script', command: '<%= config.bin %> add mon0 --if-not-exists' },
    { description: 'In another network namespace, as JSON', command: '<%= config.bin %> add --netns blue --json' },
  ],

  args: {
    name: arg.string({
      description: `Link name; default: the kernel picks nlmon0, nlmon1, … (IFLA_IFNAME: ${ruleForFlag('name')?.rule})`,
      required: false,
    }),
  },

  flags: {
    ...attributeFlags('add'),
    down: flag.boolean({ summary: 'Leave the link DOWN (it captures nothing until set --up).' }),
    'if-not-exists': flag.boolean({
      summary:
        'Succeed if an nlmon link of that name already exists (another kind holding the name is still an error).',
    }),
  },

  strict: true,
})
