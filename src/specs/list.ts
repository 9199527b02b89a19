// `nlmonctl list`: its help (no flags of its own, no arguments).

import { defineSpec } from './define.js'

export const listSpec = defineSpec({
  summary: 'List the nlmon links of a network namespace.',

  description: `One RTM_GETLINK dump filtered to kind nlmon. STATE is the administrative state: an nlmon link captures only while UP. With --json, an array of link objects with the keys of \`ip -j -s -d link show\` (ifindex, ifname, flags, mtu, operstate, txqlen, linkinfo.info_kind, stats64, …); [] when there are none.`,

  examples: [
    '<%= config.bin %> list',
    {
      description: 'Names of the links that capture',
      command: '<%= config.bin %> list --json | jq -r \'.[] | select(.flags | index("UP")) | .ifname\'',
    },
  ],

  args: {},
  flags: {},
  strict: true,
})
