import { accessSync, constants as fsConstants, statSync } from 'node:fs'
import { constants } from 'node:os'
import { delimiter, join } from 'node:path'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { processFlags } from '../core/capture-flags.js'
import { prepareTrace, printSummary, runCapture } from '../core/capture.js'
import { oneShotApi } from '../core/link-api.js'
import { parseNativeError } from '../core/errors.js'
import { loadAddon } from '../core/native.js'

export default class Trace extends BaseCommand {
  static summary = 'Run a command and show the netlink traffic of its run; exits with its status.'

  static description = `Creates an ephemeral nlmon link, runs CMD with its arguments (directly, no shell; inside --netns when given), captures the namespace's netlink traffic while it runs, prints the decoded messages (as capture does, JSON lines with --json) or writes them to a pcap file with -w, removes the link, and exits with CMD's exit status (128+N when a signal N ended it, 127 when it could not be started).

--only-cmd keeps only the messages of CMD's processes: CMD and everything it starts (nlmonctl's descendants, so even a child that lived 2 ms), named as capture names processes — by eBPF at send time, else by the /proc fallback (see capture --help) — and the replies, ACKs and notifications addressed to their sockets. They are printed (or written with -w) as they come; the summary's "shown" is their count.`

  static examples = [
    {
      description: 'What does ip link add really send?',
      command: '<%= config.bin %> trace -- ip link add dm0 type dummy',
    },
    {
      description: 'Only the messages of one program, as JSON lines',
      command: '<%= config.bin %> trace --only-cmd --json -- ip -br addr',
    },
    {
      description: 'A pcap of a run in a namespace',
      command: '<%= config.bin %> trace --netns blue -w run.pcap -- ip link show',
    },
    {
      description: "A pcap of one program's messages only",
      command: '<%= config.bin %> trace --only-cmd -w ip.pcap --force -- ip -br link',
    },
  ]

  static strict = false

  static flags = {
    ...processFlags,
    'only-cmd': Flags.boolean({
      summary:
        'Only the messages of CMD and everything it starts (named by process, as capture --pid), and those addressed to them.',
    }),
    write: Flags.string({
      char: 'w',
      summary: 'Write pcap to FILE instead of printing; pcapng if FILE ends in .pcapng.',
      helpValue: 'FILE',
    }),
    force: Flags.boolean({ summary: 'With -w, replace an existing file.' }),
    hex: Flags.boolean({ summary: "Add each message's raw bytes in hex." }),
    verbose: Flags.boolean({
      char: 'v',
      summary: "Print every attribute of each message under its line (from the kernel's YNL specs).",
    }),
    family: Flags.string({ summary: 'Only these netlink families, comma-separated.', helpValue: 'LIST' }),
    'buffer-size': Flags.string({ summary: 'Kernel ring size in MiB (default 64).', helpValue: 'MIB' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Trace)
    const plan = await prepareTrace(argv as string[], flags, this.jsonEnabled())
    const { json, onlyCmd } = plan
    const run = new CommandRun(plan.command, flags.netns)
    const result = await runCapture(oneShotApi(flags.netns), {
      write: plan.write,
      force: plan.force,
      json,
      hex: plan.hex,
      verbose: plan.verbose,
      families: plan.families,
      bufferMib: plan.bufferMib,
      bpf: plan.bpf,
      cmdline: plan.cmdline,
      processes: plan.processes,
      // CMD is started by this process: its tree is nlmonctl's descendants
      ...(onlyCmd ? { pid: process.pid, descendantsOnly: true } : {}),
      onSignal: (signal) => run.kill(signal),
      driver: () => run.run(),
    })
    printSummary(result, { json, write: plan.write }, onlyCmd ? result.summary.messages : undefined)
    if (run.startError !== undefined)
      process.stderr.write(`nlmonctl trace: ${plan.command[0]}: ${run.startError.split('\n')[0]}\n`)
    process.exitCode = run.status
  }
}

/**
 * CMD's run: started by the addon (inside --netns through ip netns exec / nsenter), which has the
 * kernel SIGKILL it when nlmonctl dies (PR_SET_PDEATHSIG: a SIGKILLed trace leaves no CMD behind).
 */
export class CommandRun {
  status = 0
  startError: string | undefined
  private pid: number | undefined
  private reaped = false

  constructor(
    private readonly command: string[],
    private readonly netns: string | undefined,
  ) {}

  /** A signal that came before CMD started (while the link was being set up): CMD never starts. */
  private pending: NodeJS.Signals | undefined

  kill(signal: NodeJS.Signals): void {
    if (this.pid === undefined) this.pending ??= signal
    else if (!this.reaped) {
      try {
        process.kill(this.pid, signal)
      } catch {
        // already gone (exited, not yet reaped by wait): nothing to forward
      }
    }
  }

  async run(): Promise<void> {
    // --netns runs CMD through ip netns exec / nsenter, which exit 1 when CMD cannot start: find CMD here
    // first, so that a missing CMD is 127 with the same line as without --netns.
    const missing = this.netns === undefined ? undefined : cannotStart(this.command)
    if (missing !== undefined) {
      this.status = 127
      this.startError = missing
      return
    }
    const native = await loadAddon()
    if (this.pending !== undefined) {
      this.status = 128 + (constants.signals[this.pending] ?? 0)
      return
    }
    const [file, ...args] =
      this.netns === undefined
        ? this.command
        : this.netns.includes('/')
          ? ['nsenter', `--net=${this.netns}`, '--', ...this.command]
          : ['ip', 'netns', 'exec', this.netns, ...this.command]
    let pid: number
    try {
      pid = native.spawnCommand(file, args)
    } catch (error) {
      // The one reading of a native error; the line is the one trace has always printed for it.
      this.status = 127
      this.startError = startFailure(parseNativeError(error).code, this.command)
      return
    }
    this.pid = pid
    const done = await native.waitCommand(pid)
    this.reaped = true
    this.status = done.signal !== undefined ? 128 + done.signal : (done.code ?? 0)
  }
}

/** The one line for a CMD that could not be started (the words execa used, kept for users' scripts). */
function startFailure(code: string, command: string[]): string {
  return `Command failed with ${code}: ${command.join(' ')}`
}

/** Why CMD cannot be started (as without --netns), or undefined when it can. */
function cannotStart(command: string[]): string | undefined {
  const cmd = command[0]
  const candidates = cmd.includes('/')
    ? [cmd]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir || '.', cmd))
  let code = 'ENOENT'
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isDirectory()) {
        code = 'EACCES'
        continue
      }
      accessSync(candidate, fsConstants.X_OK)
      return undefined
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code
      if (reason === 'EACCES') code = 'EACCES'
    }
  }
  return startFailure(code, command)
}
