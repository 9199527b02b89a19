import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { processFlags, selectFlags } from '../core/capture-flags.js'
import { prepareCapture, printSummary, readCapture, runCapture } from '../core/capture.js'
import { oneShotApi } from '../core/link-api.js'

export default class Capture extends BaseCommand {
  static summary = 'Capture netlink traffic: decoded lines, JSON lines, or a pcap/pcapng file.'

  static description = `Captures on an existing nlmon link (--link, brought UP if needed and put back DOWN after) or on an ephemeral one it creates (named nlmonctl<N>, alias "nlmonctl-ephemeral pid=… start=…") and always removes: at the normal end, after --count messages or --duration seconds, on SIGINT, SIGTERM, SIGHUP, or an error. An nlmon link sees the netlink traffic of its own network namespace only (--netns picks it).

Each netlink message is one line: time, direction, family, type (RTM_NEWLINK, NLMSG_ERROR with the errno and the kernel's extack text, generic netlink families by name), flags, seq, port id, length and, for rtnetlink link/address/route/neighbour messages, their main attributes. -v/--verbose prints every attribute under the line (names, values, nesting, from the kernel's YNL specs: rtnetlink, nlctrl, nl80211, ethtool, devlink, mptcp_pm, wireguard, conntrack, nftables and the other families the specs cover). --json prints one JSON object per message, with that whole tree under "decoded"; --hex adds the message's bytes. -w writes pcap (LINKTYPE_NETLINK, readable by tcpdump, tshark and Wireshark) instead, created mode 0600 and never over an existing file without --force; a -w name ending in .pcapng, or --pcapng, writes pcapng: its interface block names the nlmon link and its network namespace, and each packet whose process is known carries it as the packet's comment (pid=4242 tid=4242 comm=ip source=bpf). -r decodes a pcap or pcapng file (ours, tcpdump's, dumpcap's), filling each record's process from such a comment; -r IN -w OUT copies the packets --family and --count keep into OUT (pcapng keeps the comments).

Live, each message is attributed to the process behind it: the sender of a request, the owner of the port a reply, ACK, dump part or notification goes to: "process" in --json, ip[4242] in the line, the packet comment in pcapng. An eBPF program records every netlink send in the kernel (pid, tid, comm), so even a process that lived 2 ms, or one in a container's pid namespace, is named by its pid here; it needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) and a kernel with BTF. Without them, or with --no-bpf, processes are named from /proc ("source":"proc": the proc connector's exec and exit events, the autobind rule that gives a process's first socket its pid as port id, /proc/net/netlink), which misses more (see the README) and says so on stderr. --cmdline adds each process's command line; --no-processes names none. --pid PID keeps only the messages of PID and its descendants (later ones too), --comm NAME those of processes named NAME.

Long recordings with bounded disk, as with tcpdump: -C MB starts a new file before one would exceed MB megabytes (1,000,000 bytes), -G S every S seconds, -W N keeps the last N files of the run (the oldest is removed when a new one starts). Files are named FILE, FILE1, FILE2…; with -G, FILE goes through strftime(3) first (local time), and the counter is added only when two files would get the same name. Every file is complete (its own pcap header, whole records only) and created like -w's. With -C or -G, SIGHUP starts a new file at once (for logrotate-style tools); without them SIGHUP ends the capture as before. The summary says how many files were written.

On a terminal, stderr shows a live counter (messages, bytes, kernel drops). At the end, a summary — messages per family and type, the kernel's drops (ring full) and userspace drops (decoder or output too slow; the pcap file never depends on them) — goes to stderr, or as a last {"summary":…} line with --json.`

  static examples = [
    { description: 'Watch rtnetlink traffic until Ctrl-C', command: '<%= config.bin %> capture --family route' },
    { description: 'Ten seconds into a private pcap', command: '<%= config.bin %> capture -w nl.pcap --duration 10' },
    {
      description: 'Ten seconds into pcapng: the link and netns named, processes as packet comments',
      command: '<%= config.bin %> capture -w nl.pcapng --duration 10',
    },
    {
      description: 'Only the route messages of a pcapng file, into a smaller one (comments kept)',
      command: '<%= config.bin %> capture -r nl.pcapng --family route -w route.pcapng',
    },
    {
      description: 'Decode a pcap written by tcpdump -i nlmon0',
      command: '<%= config.bin %> capture -r nl.pcap --json',
    },
    {
      description: 'Hourly files, none over 50 MB, the last 48 kept',
      command: '<%= config.bin %> capture -w nl-%Y%m%d-%H%M%S.pcap -G 3600 -C 50 -W 48',
    },
    {
      description: 'Every attribute of each route message, as a tree',
      command: '<%= config.bin %> capture -r nl.pcap --verbose --family route',
    },
    {
      description: 'Who changes the routes: each route message with the process behind it and its command line',
      command: '<%= config.bin %> capture --family route --cmdline --count 20 --json',
    },
    {
      description: 'Only what ip commands send and are sent, with their command lines',
      command: '<%= config.bin %> capture --comm ip --cmdline --json',
    },
    {
      description: 'Test fixtures: the bytes of the next 5 messages',
      command: '<%= config.bin %> capture --count 5 --hex',
    },
  ]

  static flags = {
    link: Flags.string({
      summary: 'Capture on this existing nlmon link (name or ifindex) instead of an ephemeral one.',
      helpValue: 'NAME',
    }),
    write: Flags.string({
      char: 'w',
      summary: 'Write pcap to FILE ("-": standard output) instead of printing; pcapng if FILE ends in .pcapng.',
      helpValue: 'FILE',
    }),
    pcapng: Flags.boolean({
      summary: 'With -w: write pcapng whatever the file name (e.g. -w - --pcapng to a pipe).',
    }),
    force: Flags.boolean({ summary: 'With -w, replace an existing file.' }),
    ...processFlags,
    ...selectFlags,
    read: Flags.string({
      char: 'r',
      summary: 'Decode a pcap or pcapng file instead of capturing (with -w: copy its packets into FILE).',
      helpValue: 'FILE',
    }),
    hex: Flags.boolean({ summary: "Add each message's raw bytes in hex." }),
    verbose: Flags.boolean({
      char: 'v',
      summary: "Print every attribute of each message under its line (from the kernel's YNL specs).",
    }),
    family: Flags.string({
      summary:
        'Only these netlink families, comma-separated (route, generic, netfilter, sock_diag, xfrm, … or numbers).',
      helpValue: 'LIST',
    }),
    count: Flags.string({ char: 'c', summary: 'Stop after N messages.', helpValue: 'N' }),
    duration: Flags.string({ summary: 'Stop after S seconds.', helpValue: 'S' }),
    'buffer-size': Flags.string({ summary: 'Kernel ring size in MiB (default 64).', helpValue: 'MIB' }),
    'queue-size': Flags.string({
      summary:
        'Cap of the memory queue between the ring and the file, in MiB (default ¼ of available memory, at most 1024).',
      helpValue: 'MIB',
    }),
    'rotate-size': Flags.string({
      char: 'C',
      summary: 'With -w: start a new file before one would exceed MB megabytes (1 MB = 1,000,000 bytes).',
      helpValue: 'MB',
    }),
    'rotate-seconds': Flags.string({
      char: 'G',
      summary: 'With -w: start a new file every S seconds; the -w name goes through strftime (e.g. nl-%H%M%S.pcap).',
      helpValue: 'S',
    }),
    'rotate-files': Flags.string({
      char: 'W',
      summary: 'With -C or -G: keep at most N files of this run, removing the oldest.',
      helpValue: 'N',
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Capture)
    const plan = await prepareCapture(flags, this.jsonEnabled())
    const result =
      plan.read === undefined
        ? await runCapture(oneShotApi(flags.netns), plan)
        : await readCapture({ ...plan, read: plan.read })
    printSummary(result, plan)
  }
}
