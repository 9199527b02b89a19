// The flags capture and trace share for naming the process behind each message (issue 10), and
// capture's flags that select messages by process: one definition each, spread into the commands.
import { Flags } from '@oclif/core'

export const processFlags = {
  bpf: Flags.boolean({
    summary:
      'Name the process behind each message with eBPF (on by default; needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN and BTF). --no-bpf, or without them: the /proc fallback.',
    allowNo: true,
    default: true,
  }),
  cmdline: Flags.boolean({
    summary: "Add each named process's command line (process.cmdline), read from /proc at its exec.",
  }),
  processes: Flags.boolean({
    summary: 'Name processes at all (on by default). --no-processes: no eBPF, no /proc reads, records carry none.',
    allowNo: true,
    default: true,
  }),
}

export const selectFlags = {
  pid: Flags.string({
    summary: 'Only the messages of process PID and its descendants, those started later included.',
    helpValue: 'PID',
  }),
  comm: Flags.string({
    summary: 'Only the messages of processes with this command name (comm, at most 15 bytes).',
    helpValue: 'NAME',
  }),
}
