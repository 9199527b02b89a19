// `nlmonctl batch`: its help and its flag/argument definitions (oclif's shape, no oclif).

import { arg, defineSpec, flag } from './define.js'

export const batchSpec = defineSpec({
  summary: 'Run many commands, one per line, in one process over one netlink socket.',

  description: `Each line is one nlmonctl command with the same words and flags as on the command line (add, del, list, set, stats), without the leading "nlmonctl". Blank lines and # comments are ignored; words are split and quoted as in a shell ('…', "…", \\), with no expansion. Every line is parsed and validated (the same attribute table as the commands) before any runs, and a refused line sends nothing. All lines share one netlink socket per network namespace (a line's --netns, else batch's --netns, else this one). The batch stops at the first failing line, like ip -batch; with --continue (ip -batch -force) it runs every valid line. The exit code is 0 when every line succeeded, otherwise the exit code of the first line that failed. A line's output is what the command prints; with --json, one JSON object per line: {"line":N,"command":"…","exitCode":0,"result":…}, or {"line":N,"command":"…","exitCode":E,"error":{…}} for a failed line. Lines may not run batch, or stats --watch.`,

  examples: [
    {
      description: 'Create, change and delete a link over one socket',
      command: `printf 'add mon0 --down\\nset mon0 --mtu 4096 --alias "ci capture"\\ndel mon0\\n' | <%= config.bin %> batch`,
    },
    {
      description: "Run every line even when some fail, as JSON lines; the exit code is the first failure's",
      command: `printf 'add mon1\\ndel no-such-link\\ndel mon1\\n' | <%= config.bin %> batch --continue --json || echo "first failure: exit $?"`,
    },
    {
      description: 'From a file',
      command: `printf '# setup\\nadd mon2\\nlist\\ndel mon2\\n' > /tmp/links.batch && <%= config.bin %> batch -f /tmp/links.batch`,
    },
  ],

  args: {
    file: arg.string({
      description: 'Read the lines from FILE ("-": standard input, the default); same as -f.',
      required: false,
    }),
  },

  flags: {
    file: flag.string({
      char: 'f',
      summary: 'Read the lines from FILE ("-": standard input, the default).',
      helpValue: 'FILE',
    }),
    continue: flag.boolean({ summary: 'Run every line even after a failure (like ip -batch -force).' }),
  },

  strict: true,
})
