// The flags capture and trace share for naming the process behind each message (issue 10): one
// definition, spread into both commands' flags.
import { Flags } from '@oclif/core'

export const processFlags = {
  bpf: Flags.boolean({
    summary:
      'Name the process behind each message with eBPF (on by default; --no-bpf: off). Needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN and a kernel with BTF.',
    allowNo: true,
    default: true,
  }),
  cmdline: Flags.boolean({
    summary: "Add each named process's command line (process.cmdline), read from /proc while it still runs.",
  }),
}
