import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Flags } from '@oclif/core'
import type { ResultPromise } from 'execa'
import { BaseCommand } from '../base-command.js'
import { formatRecord } from '../core/capture-format.js'
import { emptyPorts, filterOwned, sample } from '../core/capture-owner.js'
import { parseFamilies, parsePositive, printSummary, runCapture } from '../core/capture.js'
import { usageError } from '../core/errors.js'

export default class Trace extends BaseCommand {
  static summary = 'Run a command and show the netlink traffic of its run; exits with its status.'

  static description = `Creates an ephemeral nlmon link, runs CMD with its arguments (directly, no shell; inside --netns when given), captures the namespace's netlink traffic while it runs, prints the decoded messages (as capture does, JSON lines with --json) or writes them to a pcap file with -w, removes the link, and exits with CMD's exit status (128+N when a signal N ended it, 127 when it could not be started).

--only-cmd keeps only the messages to and from the netlink sockets of CMD's process tree, and the kernel's replies to them. The tree's sockets are sampled every 10 ms while it runs (socket inodes of /proc/PID/fd matched in /proc/PID/net/netlink) and each of its pids counts as a port id (the kernel gives a process's first netlink socket its pid); a request sent with port id 0 is CMD's when the first reply with its sequence number goes to one of those ports. The messages are printed when CMD has ended.`

  static examples = [
    { description: 'What does ip link add really send?', command: '<%= config.bin %> trace -- ip link add dm0 type dummy' },
    { description: 'Only the messages of one program, as JSON lines', command: '<%= config.bin %> trace --only-cmd --json -- ip -br addr' },
    { description: 'A pcap of a run in a namespace', command: '<%= config.bin %> trace --netns blue -w run.pcap -- ip link show' },
  ]

  static strict = false

  static flags = {
    'only-cmd': Flags.boolean({ summary: "Only messages to and from CMD's process tree (and the kernel's replies to them)." }),
    write: Flags.string({ char: 'w', summary: 'Write pcap to FILE instead of printing.', helpValue: 'FILE' }),
    force: Flags.boolean({ summary: 'With -w, replace an existing file.' }),
    hex: Flags.boolean({ summary: "Add each message's raw bytes in hex." }),
    family: Flags.string({ summary: 'Only these netlink families, comma-separated.', helpValue: 'LIST' }),
    'buffer-size': Flags.string({ summary: 'Kernel ring size in MiB (default 64).', helpValue: 'MIB' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Trace)
    const command = argv as string[]
    if (command.length === 0) throw usageError('give the command to run after --, e.g. nlmonctl trace -- ip link show')
    if (flags['only-cmd'] && flags.write !== undefined) {
      throw usageError('--only-cmd selects decoded messages: it does not go with -w (not implemented for pcap output)')
    }
    if (flags.force && flags.write === undefined) throw usageError('--force goes with -w')
    const json = this.jsonEnabled()
    const netns = flags.netns
    const [file, ...args] =
      netns === undefined
        ? command
        : netns.includes('/')
          ? ['nsenter', `--net=${netns}`, '--', ...command]
          : ['ip', 'netns', 'exec', netns, ...command]

    let child: ResultPromise | undefined
    let status = 0
    let startError: string | undefined
    const owned = emptyPorts()
    const onlyCmd = flags['only-cmd']
    const result = await runCapture({
      netns,
      write: flags.write,
      force: flags.force,
      json,
      hex: flags.hex,
      families: parseFamilies(flags.family),
      bufferMib: parsePositive('buffer-size', flags['buffer-size'], true),
      collect: onlyCmd,
      onSignal: (signal) => {
        child?.kill(signal)
      },
      driver: async () => {
        // execa is loaded here, not at start-up: only trace needs it (bundle chunk, see scripts/bundle.js).
        const { execa } = await import('execa')
        const proc = execa(file, args, { stdio: 'inherit', reject: false })
        child = proc
        let running = true
        const sampler = (async () => {
          const pid = proc.pid
          if (!onlyCmd || pid === undefined) return
          owned.pids.add(pid)
          while (running) {
            sample(pid, owned)
            await sleep(10)
          }
        })()
        const done = await proc
        running = false
        await sampler
        if (done.signal) status = 128 + (constants.signals[done.signal] ?? 0)
        else if (done.exitCode !== undefined) status = done.exitCode
        else {
          status = 127
          startError = done.shortMessage ?? done.message
        }
      },
    })
    let shown: number | undefined
    if (onlyCmd) {
      const mine = filterOwned(result.collected, owned)
      shown = mine.length
      const text = json ? mine.map((r) => JSON.stringify(r)).join('\n') : mine.map(formatRecord).join('\n')
      if (text !== '') process.stdout.write(text + '\n')
    }
    printSummary(result, { json, write: flags.write }, shown)
    if (result.collectDropped > 0) {
      process.stderr.write(`nlmonctl trace: ${result.collectDropped} messages not examined for --only-cmd (more than 200000 held)\n`)
    }
    if (startError !== undefined) process.stderr.write(`nlmonctl trace: ${command[0]}: ${startError.split('\n')[0]}\n`)
    process.exitCode = status
  }
}
