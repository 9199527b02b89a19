import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { processFlags } from '../core/capture-flags.js'
import { formatRecord } from '../core/capture-format.js'
import { emptyPorts, ownedIndexes, sample, type Ports } from '../core/capture-owner.js'
import { prepareTrace, printSummary, runCapture, type CollectedRecord } from '../core/capture.js'
import { oneShotApi } from '../core/link-api.js'
import { parseNativeError } from '../core/errors.js'
import { call, loadAddon } from '../core/native.js'

export default class Trace extends BaseCommand {
  static summary = 'Run a command and show the netlink traffic of its run; exits with its status.'

  static description = `Creates an ephemeral nlmon link, runs CMD with its arguments (directly, no shell; inside --netns when given), captures the namespace's netlink traffic while it runs, prints the decoded messages (as capture does, JSON lines with --json) or writes them to a pcap file with -w, removes the link, and exits with CMD's exit status (128+N when a signal N ended it, 127 when it could not be started).

--only-cmd keeps only the messages to and from the netlink sockets of CMD's process tree, and the kernel's replies to them. The tree's sockets are sampled every 10 ms while it runs (socket inodes of /proc/PID/fd matched in /proc/PID/net/netlink) and each of its pids counts as a port id (the kernel gives a process's first netlink socket its pid); a request sent with port id 0 is CMD's when its answer goes to one of those ports — the ACK or error that quotes its header, else the first reply with its sequence number and object type. Limits: a second socket that CMD opens and closes between two samples is missed, and two requests with identical headers sent at the same moment by CMD and another process can be swapped. The messages are printed (or, with -w, written) when CMD has ended: with -w the whole capture goes to a private temporary file first (mode 0600 in a fresh 0700 directory under $TMPDIR, removed at the end), then CMD's packets are copied to FILE.`

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
      summary: "Only messages to and from CMD's process tree (and the kernel's replies to them).",
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
    // --only-cmd -w: capture everything privately, copy CMD's packets to FILE at the end.
    const scratch = onlyCmd && plan.write !== undefined ? mkdtempSync(join(tmpdir(), 'nlmonctl-trace-')) : undefined
    // pcapng: the copy into a FILE.pcapng keeps the link's name and namespace (and any process comments).
    const everything = scratch === undefined ? undefined : join(scratch, 'all.pcapng')
    try {
      const owned = emptyPorts()
      const run = new CommandRun(plan.command, flags.netns, onlyCmd ? owned : undefined)
      const result = await runCapture(oneShotApi(flags.netns), {
        write: everything ?? plan.write,
        force: everything === undefined && plan.force,
        json,
        hex: plan.hex,
        verbose: plan.verbose,
        families: plan.families,
        bufferMib: plan.bufferMib,
        bpf: plan.bpf,
        cmdline: plan.cmdline,
        collect: onlyCmd,
        onSignal: (signal) => run.kill(signal),
        driver: () => run.run(),
      })
      let shown: number | undefined
      if (onlyCmd) {
        const keep = ownedIndexes(
          result.collected.map((c) => c.record),
          owned,
        )
        const mine = result.collected.filter((_, i) => keep.has(i))
        shown = mine.length
        if (everything !== undefined && plan.write !== undefined) {
          result.summary.written = await copyPackets(everything, plan.write, plan.force, mine)
        } else {
          const text = json
            ? mine.map((c) => c.line).join('\n')
            : mine.map((c) => formatRecord(c.record, plan.verbose)).join('\n')
          if (text !== '') process.stdout.write(text + '\n')
        }
      }
      printSummary(result, { json, write: plan.write }, shown)
      if (result.collectDropped > 0) {
        process.stderr.write(
          `nlmonctl trace: ${result.collectDropped} messages not examined for --only-cmd (more than 200000 held)\n`,
        )
      }
      if (run.startError !== undefined)
        process.stderr.write(`nlmonctl trace: ${plan.command[0]}: ${run.startError.split('\n')[0]}\n`)
      process.exitCode = run.status
    } finally {
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
    }
  }
}

/**
 * CMD's run: started by the addon (inside --netns through ip netns exec / nsenter), which has the
 * kernel SIGKILL it when nlmonctl dies (PR_SET_PDEATHSIG: a SIGKILLed trace leaves no CMD behind),
 * its process tree sampled for --only-cmd.
 */
export class CommandRun {
  status = 0
  startError: string | undefined
  private pid: number | undefined
  private reaped = false

  constructor(
    private readonly command: string[],
    private readonly netns: string | undefined,
    private readonly owned: Ports | undefined,
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
    let running = true
    const sampler = (async () => {
      if (this.owned === undefined) return
      this.owned.pids.add(pid)
      while (running) {
        sample(pid, this.owned)
        await sleep(10)
      }
    })()
    try {
      const done = await native.waitCommand(pid)
      this.reaped = true
      this.status = done.signal !== undefined ? 128 + done.signal : (done.code ?? 0)
    } finally {
      running = false
      await sampler
    }
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

/** Copy the packets that hold CMD's messages from the full capture to FILE; how many. */
async function copyPackets(
  everything: string,
  write: string,
  force: boolean,
  mine: CollectedRecord[],
): Promise<number> {
  const packets = [...new Set(mine.map((c) => c.record.packet))]
  return call({ action: 'capture', file: write }, (native) => native.filterPcap(everything, write, force, packets))
}
