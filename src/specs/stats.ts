// `nlmonctl stats`: its help and its flag definitions (oclif's shape, no oclif).

import { defineSpec, flag } from './define.js'

export const statsSpec = defineSpec({
  summary: 'Show the traffic counters (IFLA_STATS64) of nlmon links.',

  description: `Without arguments, every nlmon link in the namespace. On the kernel's C nlmon driver, captured netlink traffic is counted as rx_packets/rx_bytes, one packet per tapped skb (one skb may carry several netlink messages, e.g. a dump part); tx stays 0. A link counts only while it is UP. With --json, an array of link objects whose stats64.rx / stats64.tx match \`ip -s -j link show\`.

--watch prints, every --interval seconds, the packets and bytes of each link during that interval and their per-second rates (JSON lines with --json), until interrupted (exit 0) or --count intervals have passed.`,

  examples: [
    '<%= config.bin %> stats',
    {
      description: 'Packets captured so far by one link',
      command: "<%= config.bin %> stats nlmon0 --json | jq '.[0].stats64.rx.packets'",
    },
    { description: 'Live rates every half second', command: '<%= config.bin %> stats --watch --interval 0.5' },
  ],

  args: {},

  flags: {
    watch: flag.boolean({ char: 'w', summary: 'Print per-interval rates until interrupted.' }),
    interval: flag.string({
      summary: 'Seconds between samples with --watch (0.1 to 3600).',
      default: '1',
      helpValue: 'SECONDS',
    }),
    count: flag.string({ summary: 'With --watch, stop after this many intervals.', helpValue: 'N' }),
  },

  // The links to show are the positional words (argv), as many as given.
  strict: false,
})
