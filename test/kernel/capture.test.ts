// capture, trace and prune on Debian's stock kernels (which ship nlmon), each result checked against
// tools nobody here wrote: iproute2 makes the traffic, tshark dissects our pcaps, tcpdump captures the
// same link side by side. The guest runs this machine's own binaries: tcpdump and tshark come from
// test/global-setup.mjs (installed on the host when missing).
import type { NlRecord } from '../../src/core/capture-format.js'
import { parseCapture, parseRecords } from '../helpers/records.js'
import { GuestFixture, KERNELS, SURFACE_KERNEL, q, type IpLink, testLimit } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000

// The records nlmonctl prints (--json) are the decoder's NlRecord shape.
type Rec = NlRecord

// A guest script's stdout mixes the capture's lines with other commands' output: only `{` lines are
// read, each validated against schema/capture-record.v1.json.
const records = (text: string): Rec[] => parseRecords(text, { mixed: true })
const summaryOf = (text: string) => parseCapture(text, { mixed: true }).summary

/**
 * Start a capture in the background, wait until it listens, run `traffic`, stop it with SIGINT, wait.
 * No pause before the SIGINT: nlmon hands the tap its copy inside the sender's own sendmsg (and the
 * kernel's replies and notifications as they are sent), so once `traffic` has returned every packet is
 * in the capture's ring, and a stopping capture reads on until the kernel has retired its last block.
 */
function around(capture: string, traffic: string, out = '/tmp/cap.out'): string {
  return [
    `rm -f ${out} ${out}.err`,
    `${capture} >${out} 2>${out}.err & CAP=$!`,
    `i=0; while ! grep -q listening ${out}.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done`,
    traffic,
    'kill -INT $CAP; wait $CAP; echo "capture exit $?" >>' + `${out}.err`,
  ].join('\n')
}

/** The messages of every packet in tshark's JSON, as (type, flags, seq, pid, len) per message and the family. */
interface TsharkPacket {
  family: number
  messages: string[]
}

function tsharkPackets(json: string): TsharkPacket[] {
  const packets = JSON.parse(json) as { _source: { layers: Record<string, unknown> } }[]
  return packets.map((p) => {
    const layers = p._source.layers
    const cooked = layers.netlink as Record<string, string>
    const messages: string[] = []
    for (const [name, value] of Object.entries(layers)) {
      if (name === 'frame' || name === 'netlink') continue
      for (const message of Array.isArray(value) ? value : [value]) {
        const headerKey = Object.keys(message as object).find((k) => k.startsWith('Netlink message header'))
        if (!headerKey) continue
        const h = (message as Record<string, Record<string, string | string[]>>)[headerKey]
        const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)
        // The header holds len, type (netlink.hdr_type, or the family dissector's own type field), flags, seq, pid.
        const typeKey = Object.keys(h).find((k) => !/\.hdr_(len|flags|flags_tree|seq|pid)$/.test(k))
        const type = Number(first(typeKey ? h[typeKey] : undefined))
        const flags = Number(first(h['netlink.hdr_flags']))
        messages.push(
          [type, flags, first(h['netlink.hdr_seq']), first(h['netlink.hdr_pid']), first(h['netlink.hdr_len'])].join(
            '/',
          ),
        )
      }
    }
    return { family: Number(cooked['netlink.family']), messages: messages.sort() }
  })
}

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  const cli = () => `node ${vm.cliPath()}`
  beforeAll(async () => {
    await vm.boot(kernel)
  }, BOOT_TIMEOUT)
  afterAll(() => vm.close())
  beforeEach(async () => {
    const links = await vm.json<IpLink[]>('ip -j link show type nlmon')
    if (links.length > 0) await vm.sh(links.map((link) => `ip link del ${q(link.ifname)}`).join('; '))
    await vm.sh('ip link del dmt0 2>/dev/null; ip link del dmt1 2>/dev/null; ip link del dmt2 2>/dev/null; true')
  })
  const noNlmonLeft = async () => expect(await vm.json<IpLink[]>('ip -j link show type nlmon')).toEqual([])
  // What does not vary with the kernel (file formats and modes, exit statuses, prune's bookkeeping) is defined on
  // the newest kernel of the matrix only, as readme.test and batch.test do: the matrix is CI's longest file.
  const kernelIndependent = (...args: Parameters<typeof test>) => {
    if (kernel === SURFACE_KERNEL) test(...args)
  }

  test(
    'known traffic: the requests, their ACKs and the notifications, decoded with names and attributes',
    async () => {
      // A listener for the multicast notifications, started before the capture so that only the
      // traffic under test is seen.
      const run = await vm.sh(
        // It is listening once it has printed a marker link's creation and deletion (made before the capture).
        'ip monitor link address >/tmp/mon.out & MON=$!\n' +
          'i=0; until grep -q "Deleted.*monmark0" /tmp/mon.out; do ip link del monmark0 2>/dev/null; ip link add monmark0 type dummy && ip link del monmark0; i=$((i+1)); [ $i -gt 200 ] && { echo "MONITOR NEVER LISTENED" >&2; break; }; sleep 0.05; done\n' +
          around(
            `${cli()} capture --json --family route`,
            'ip link add dmt0 type dummy\nip addr add 10.7.0.1/24 dev dmt0',
          ) +
          '\nkill $MON; cat /tmp/cap.out; cat /tmp/cap.out.err >&2; ip -j link show dmt0',
        120_000,
      )
      expect(run.stderr).not.toContain('MONITOR NEVER LISTENED')
      expect(run.stderr).toContain('capture exit 0')
      const all = records(run.stdout)
      const ifindex = (
        JSON.parse(
          run.stdout
            .split('\n')
            .filter((l) => l.startsWith('['))
            .pop() as string,
        ) as IpLink[]
      )[0].ifindex
      expect(all.every((r) => r.family === 'route' && r.malformed === undefined)).toBe(true)

      const create = all.find(
        (r) => r.type === 'RTM_NEWLINK' && r.attrs?.ifname === 'dmt0' && r.flags.includes('REQUEST'),
      )
      expect(create).toMatchObject({ dir: 'to-kernel', attrs: { kind: 'dummy' } })
      expect(create?.flags).toEqual(expect.arrayContaining(['REQUEST', 'ACK', 'CREATE', 'EXCL']))
      const createAck = all.find(
        (r) =>
          r.type === 'NLMSG_ERROR' &&
          r.seq === create?.seq &&
          r.error?.request_type === 'RTM_NEWLINK' &&
          r.error.errno === 0,
      )
      expect(createAck).toMatchObject({ dir: 'to-user', error: { name: 'ACK' } })
      expect(createAck?.port).not.toBe(0)

      const addr = all.find((r) => r.type === 'RTM_NEWADDR' && r.flags.includes('REQUEST'))
      expect(addr?.attrs).toMatchObject({ ifindex, address: '10.7.0.1', local: '10.7.0.1', prefixlen: 24, af: 'inet' })
      expect(
        all.find((r) => r.type === 'NLMSG_ERROR' && r.seq === addr?.seq && r.error?.request_type === 'RTM_NEWADDR')
          ?.error?.errno,
      ).toBe(0)

      // Multicast notifications to the `ip monitor` socket: a new link dmt0 and the new address.
      const notes = all.filter(
        (r) => !r.flags.includes('REQUEST') && r.type !== 'NLMSG_ERROR' && r.type !== 'NLMSG_DONE',
      )
      expect(
        notes.some((r) => r.type === 'RTM_NEWLINK' && r.attrs?.ifname === 'dmt0' && r.attrs.ifindex === ifindex),
      ).toBe(true)
      expect(
        notes.some((r) => r.type === 'RTM_NEWADDR' && r.attrs?.address === '10.7.0.1' && r.attrs.prefixlen === 24),
      ).toBe(true)

      // Exactly that traffic: every request is iproute2's (a link lookup or one of the two changes), every
      // error/done answers one of them, every other message is a reply to one or a notification about dmt0.
      const requests = all.filter((r) => r.flags.includes('REQUEST'))
      expect(new Set(requests.map((r) => r.type))).toEqual(new Set(['RTM_NEWLINK', 'RTM_GETLINK', 'RTM_NEWADDR']))
      const seqs = new Set(requests.map((r) => r.seq))
      const unanswered = all.filter((r) => r.type === 'NLMSG_ERROR' && !seqs.has(r.error?.request_seq as number))
      expect(unanswered).toEqual([])
      const about = (r: Rec) => r.attrs?.ifname === 'dmt0' || r.attrs?.ifindex === ifindex
      const stray = all.filter(
        (r) => !r.flags.includes('REQUEST') && r.type !== 'NLMSG_ERROR' && !seqs.has(r.seq) && !about(r),
      )
      expect(stray).toEqual([])
      const summary = summaryOf(run.stdout)
      expect(summary?.messages).toBe(all.length)
      expect(summary?.kernel_drops).toBe(0)
      await noNlmonLeft()
    },
    testLimit(180_000),
  )

  test(
    'live: generic netlink names come from the captured kernel (family_source kernel)',
    async () => {
      const run = await vm.sh(
        around(`${cli()} capture --json --family generic`, 'ip mptcp endpoint show >/dev/null') +
          '\ncat /tmp/cap.out; cat /tmp/cap.out.err >&2',
        120_000,
      )
      expect(run.stderr).toContain('capture exit 0')
      const mptcp = records(run.stdout).filter((r) => r.type === 'mptcp_pm')
      expect(mptcp.length).toBeGreaterThan(0)
      expect(mptcp.map((r) => r.family_source)).toEqual(mptcp.map(() => 'kernel'))
      await noNlmonLeft()
    },
    testLimit(180_000),
  )

  test(
    'tshark reads our pcap and agrees on family, type, flags, seq, port and length of every message',
    async () => {
      const run = await vm.sh(
        around(
          `${cli()} capture -w /tmp/t.pcap`,
          'ip link show >/dev/null; ip addr show >/dev/null; ip route show >/dev/null; genl ctrl list >/dev/null; ss -tan >/dev/null; ip link add dmt1 type dummy; ip link add dmt1 type dummy 2>/dev/null; ip neigh show >/dev/null; ip mptcp endpoint show >/dev/null',
        ) +
          `\nstat -c '%a %s' /tmp/t.pcap; tshark -r /tmp/t.pcap -T json --no-duplicate-keys > /tmp/t.json && echo TSHARK_OK >&2` +
          `\n${cli()} capture -r /tmp/t.pcap --json > /tmp/t.ours; cat /tmp/t.out.err >&2`,
        180_000,
      )
      expect(run.stderr).toContain('TSHARK_OK')
      const [mode, size] = run.stdout.trim().split('\n').pop()!.split(' ')
      expect(mode).toBe('600')
      expect(Number(size)).toBeGreaterThan(24)
      const theirs = tsharkPackets((await vm.sh('cat /tmp/t.json', 60_000)).stdout)
      const ours = records((await vm.sh('cat /tmp/t.ours', 60_000)).stdout)
      expect(theirs.length).toBeGreaterThan(10)
      const families = new Set(ours.map((r) => r.family))
      expect([...families].sort()).toEqual(expect.arrayContaining(['generic', 'route', 'sock_diag']))
      expect(ours.some((r) => r.type === 'nlctrl' && r.genl?.cmd_name === 'CTRL_CMD_GETFAMILY')).toBe(true)
      expect(ours.some((r) => r.type === 'NLMSG_ERROR' && r.error?.name === 'EEXIST')).toBe(true)
      // -r names generic netlink families from the file's own nlctrl traffic (issue #9), never this
      // machine's: mptcp_pm is named because `ip mptcp` asked nlctrl for it earlier in the file.
      const genl = ours.filter((r) => r.family === 'generic' && r.type_id >= 16)
      expect(genl.filter((r) => r.family_source === 'kernel')).toEqual([])
      expect(genl.some((r) => r.type === 'mptcp_pm' && r.family_source === 'file')).toBe(true)
      const byPacket = new Map<number, Rec[]>()
      for (const r of ours) byPacket.set(r.packet, [...(byPacket.get(r.packet) ?? []), r])
      expect(byPacket.size).toBe(theirs.length)
      theirs.forEach((packet, i) => {
        const mine = byPacket.get(i + 1) ?? []
        expect([i + 1, mine.map((r) => r.family_id)]).toEqual([i + 1, mine.map(() => packet.family)])
        const key = (r: Rec) => [r.type_id, r.flags_raw, r.seq, r.port, r.len].join('/')
        expect([i + 1, mine.map(key).sort()]).toEqual([i + 1, packet.messages])
      })
      await noNlmonLeft()
    },
    testLimit(300_000),
  )

  kernelIndependent(
    'pcapng live: tshark and capinfos name the nlmon link and its namespace; -r reads the packets a live --json capture printed',
    async () => {
      const script = [
        `${cli()} add png0 >/dev/null`,
        'rm -f /tmp/p.pcapng /tmp/p.err /tmp/j.err /tmp/p.json /tmp/q.pcapng',
        // Two captures on the same link: one writes pcapng, one prints JSON, both listening before the burst.
        `${cli()} capture --link png0 -w /tmp/p.pcapng 2>/tmp/p.err & P=$!`,
        'i=0; until grep -q listening /tmp/p.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done',
        `${cli()} capture --link png0 --json --hex >/tmp/p.json 2>/tmp/j.err & J=$!`,
        'i=0; until grep -q listening /tmp/j.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done',
        'ip link set dev lo alias nlmonctl-begin',
        'ip link add dmt2 type dummy; ip link add dmt2 type dummy 2>/dev/null; ip addr show >/dev/null; ip link del dmt2; genl ctrl list >/dev/null',
        'ip link set dev lo alias nlmonctl-end',
        'kill -INT $P; wait $P; echo "p exit $?"; kill -INT $J; wait $J; echo "j exit $?"',
        'cat /tmp/p.err /tmp/j.err >&2',
        `${cli()} del png0`,
        'echo "self $(readlink /proc/self/ns/net)"',
        "tshark -r /tmp/p.pcapng -T fields -e frame.interface_name -e frame.interface_description | sort -u | sed 's/^/iface /'",
        "capinfos /tmp/p.pcapng | sed 's/^/capinfos /'",
        'tshark -r /tmp/p.pcapng -T fields -e frame.comment | sort -u | sed "s/^/comment [/; s/$/]/"',
        "tshark -r /tmp/p.pcapng -T fields -e frame.time_epoch | sed 's/^/epoch /'",
        `${cli()} capture -r /tmp/p.pcapng --json --hex > /tmp/p.ours`,
        // --netns: the description names the namespace as given, and as the kernel does.
        'ip netns add pngns',
        around(`${cli()} capture --netns pngns -w /tmp/q.pcapng`, 'ip -n pngns link show >/dev/null', '/tmp/q.out'),
        'echo "pngns $(ip netns exec pngns readlink /proc/self/ns/net)"',
        "tshark -r /tmp/q.pcapng -T fields -e frame.interface_description | sort -u | sed 's/^/qdesc /'",
        'ip netns del pngns',
      ].join('\n')
      const run = await vm.sh(script, 300_000)
      // stderr (the captures' own) is part of what a failure shows
      expect(`${run.stdout}\n${run.stderr}`).toMatch(/p exit 0\n(.|\n)*j exit 0/)
      const lines = run.stdout.split('\n')
      const value = (prefix: string) => lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length))
      const [self] = value('self ')
      expect(self).toMatch(/^net:\[\d+\]$/)
      // every packet is on the one interface: the nlmon link, in this (the init) namespace
      expect(value('iface ')).toEqual([`png0\tnetns ${self}`])
      const info = value('capinfos ').join('\n')
      expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/)
      expect(info).toMatch(/Capture application:\s+nlmonctl \d/)
      expect(info).toMatch(/Name = png0\n/)
      expect(info).toMatch(/Encapsulation = Linux Netlink/)
      expect(info).toMatch(/Time precision = nanoseconds \(9\)/)
      const live = records((await vm.sh('cat /tmp/p.json', 60_000)).stdout)
      const read = records((await vm.sh('cat /tmp/p.ours', 60_000)).stdout)
      // each named packet carries its process as the comment tshark shows, and -r reads it back
      const comments = value('comment ').filter((c) => c !== '[]')
      expect(comments.length).toBeGreaterThan(0)
      for (const c of comments) expect(c).toMatch(/^\[pid=\d+ tid=\d+ comm=\S+ source=bpf\]$/)
      expect(comments.some((c) => / comm=ip /.test(c))).toBe(true)
      const named = new Set(
        read
          .filter((r) => r.process)
          .map((r) => `[pid=${r.process?.pid} tid=${r.process?.tid} comm=${r.process?.comm} source=bpf]`),
      )
      expect([...named].sort()).toEqual([...new Set(comments)].sort())
      const burst = (all: Rec[]) => {
        const at = (mark: string) =>
          all.findIndex((r) => r.hex?.includes(Buffer.from(mark).toString('hex')) && r.flags.includes('REQUEST'))
        const [begin, end] = [at('nlmonctl-begin'), at('nlmonctl-end')]
        expect(begin).toBeGreaterThanOrEqual(0)
        expect(end).toBeGreaterThan(begin)
        return all.slice(begin, end + 1)
      }
      const [fromFile, printed] = [burst(read), burst(live)]
      expect(fromFile.length).toBeGreaterThan(10)
      // Each packet socket stamps its own copy (microseconds apart): the times are compared with tshark's below.
      const key = (r: Rec) => [r.dir, r.family, r.type, r.seq, r.port, r.hex].join(' ')
      expect(fromFile.map(key)).toEqual(printed.map(key))
      // -r's time of every packet is the file's, to the nanosecond, as tshark reads it
      const epoch = (time: string) => `${Date.parse(`${time.slice(0, 19)}Z`) / 1000}.${time.slice(20, 29)}`
      const times = new Map(read.map((r) => [r.packet, epoch(r.time)]))
      const theirs = value('epoch ')
      expect(theirs.length).toBe(times.size)
      expect(theirs.map((t, i) => [i + 1, t])).toEqual([...times.entries()])
      // the file's processes are its comments: each named packet's, as tshark printed them (checked above)
      expect(fromFile.filter((r) => r.process !== undefined).length).toBeGreaterThan(0)
      const [pngns] = value('pngns ')
      expect(pngns).toMatch(/^net:\[\d+\]$/)
      expect(pngns).not.toBe(self)
      expect(value('qdesc ')).toEqual([`netns pngns (${pngns})`])
      await noNlmonLeft()
    },
    testLimit(400_000),
  )

  test(
    'nlmonctl and a simultaneous tcpdump on the same link: same messages, byte for byte',
    async () => {
      const script = [
        `${cli()} add same0 >/dev/null`,
        'rm -f /tmp/td.pcap /tmp/nl.pcap /tmp/td.err /tmp/nl.err',
        // nlmonctl first: its own start-up requests (link lookup, generic netlink names) come before
        // its capture starts, but tcpdump, already listening, would see them.
        `${cli()} capture --link same0 -w /tmp/nl.pcap --json 2>/tmp/nl.err >/tmp/nl.sum & NL=$!`,
        'i=0; until grep -q listening /tmp/nl.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done',
        // -U: each packet goes to the file as tcpdump gets it, so the end marker's arrival can be seen there.
        'tcpdump -U -i same0 -B 65536 -w /tmp/td.pcap 2>/tmp/td.err & TD=$!',
        'i=0; until grep -q listening /tmp/td.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done',
        // The burst between two marker requests (an alias on lo): the tools' own start-up and exit
        // traffic, seen by whichever listens already, falls outside it.
        'ip link set dev lo alias nlmonctl-begin',
        'for i in $(seq 1 40); do ip link show >/dev/null; ip addr show >/dev/null; done; genl ctrl list >/dev/null',
        'ip link set dev lo alias nlmonctl-end',
        'ip link set dev lo alias nlmonctl-fin',
        // tcpdump (libpcap, TPACKET_V3) drops the block it has not been handed yet when interrupted (blocks
        // are handed over within its 1 s retire timeout): stop it once a marker sent after the end marker is in
        // its file — the end marker's own bytes can be there before its record is whole (seen on 6.1 and 6.12).
        // nlmonctl reads its ring on until the last block is retired when stopped: no wait needed.
        'i=0; until grep -qa nlmonctl-fin /tmp/td.pcap; do i=$((i+1)); [ $i -gt 1200 ] && { echo "TCPDUMP NEVER GOT THE END MARKER"; cat /tmp/td.err; break; }; sleep 0.05; done',
        'kill -INT $TD; wait $TD; kill -INT $NL; wait $NL; echo "nl exit $?"',
        'cat /tmp/td.err /tmp/nl.err; cat /tmp/nl.sum',
        `${cli()} capture -r /tmp/td.pcap --json --hex > /tmp/td.ours`,
        `${cli()} capture -r /tmp/nl.pcap --json --hex > /tmp/nl.ours`,
        `${cli()} del same0`,
      ].join('\n')
      const run = await vm.sh(script, 300_000)
      expect(run.stdout).not.toContain('TCPDUMP NEVER GOT THE END MARKER')
      expect(run.stdout).toContain('nl exit 0')
      expect(run.stdout).toMatch(/\b0 packets dropped by kernel/)
      const summary = summaryOf(run.stdout)
      expect(summary?.kernel_drops).toBe(0)
      const td = records((await vm.sh('cat /tmp/td.ours', 60_000)).stdout)
      const nl = records((await vm.sh('cat /tmp/nl.ours', 60_000)).stdout)
      expect(nl.length).toBe(summary?.messages)
      const burst = (all: Rec[], side: string) => {
        const at = (mark: string) =>
          all.findIndex((r) => r.hex?.includes(Buffer.from(mark).toString('hex')) && r.flags.includes('REQUEST'))
        const [begin, end] = [at('nlmonctl-begin'), at('nlmonctl-end')]
        // which capture lacks a marker, and how much it holds, is what a failure needs to say
        expect({ side, begin: begin >= 0, end: end > begin }).toEqual({ side, begin: true, end: true })
        return all.slice(begin, end + 1)
      }
      const [ours, theirs] = [burst(nl, `nlmonctl (${nl.length} records)`), burst(td, `tcpdump (${td.length} records)`)]
      expect(ours.length).toBeGreaterThan(400)
      expect(ours.length).toBe(theirs.length)
      expect(ours.map((r) => r.hex)).toEqual(theirs.map((r) => r.hex))
      // the same split into packets (skbs) too
      const split = (rs: Rec[]) => rs.map((r) => r.packet - rs[0].packet)
      expect(split(ours)).toEqual(split(theirs))
    },
    testLimit(400_000),
  )

  kernelIndependent(
    'trace exits with the status of CMD, and shows what it sent',
    async () => {
      const ok = await vm.sh(`${cli()} trace -- ip link add dmt1 type dummy`)
      expect(ok.exitCode).toBe(0)
      // named by the process that sent it (eBPF, on in the guest)
      expect(ok.stdout).toMatch(
        /to-kernel ip\[\d+\] route RTM_NEWLINK REQUEST\|ACK\|EXCL\|CREATE .* ifname=dmt1 kind=dummy/,
      )
      expect(ok.stdout).toMatch(/NLMSG_ERROR .* ACK of RTM_NEWLINK/)
      const again = await vm.sh(`${cli()} trace -- ip link add dmt1 type dummy`)
      expect(again.exitCode).toBe(2) // iproute2's status for a kernel refusal
      expect(again.stdout).toMatch(/error=EEXIST \(File exists\) of RTM_NEWLINK/)
      expect((await vm.sh(`${cli()} trace -- sh -c 'exit 7'`)).exitCode).toBe(7)
      expect((await vm.sh(`${cli()} trace -- sh -c 'kill -TERM $$'`)).exitCode).toBe(128 + 15)
      const missing = await vm.sh(`${cli()} trace -- /nonexistent/cmd`)
      expect(missing.exitCode).toBe(127)
      expect(missing.stderr).toContain('/nonexistent/cmd')
      await noNlmonLeft()
    },
    testLimit(180_000),
  )

  test(
    "--only-cmd keeps CMD's messages and drops a concurrent process's",
    async () => {
      const run = await vm.sh(
        [
          // the concurrent loop has run once its marker exists
          'rm -f /tmp/bg.on; (while :; do ip -4 addr show dev lo >/dev/null; : >/tmp/bg.on; done) & BG=$!',
          'i=0; until [ -e /tmp/bg.on ]; do i=$((i+1)); [ $i -gt 1200 ] && { echo "LOOP NEVER RAN" >&2; break; }; sleep 0.05; done',
          `${cli()} trace --only-cmd --json -- ip link add dmt2 type dummy; echo "trace exit $?" >&2`,
          'kill $BG',
        ].join('\n'),
        180_000,
      )
      expect(run.stderr).not.toContain('LOOP NEVER RAN')
      expect(run.stderr).toContain('trace exit 0')
      const mine = records(run.stdout)
      const summary = summaryOf(run.stdout)
      const create = mine.find(
        (r) => r.type === 'RTM_NEWLINK' && r.attrs?.ifname === 'dmt2' && r.flags.includes('CREATE'),
      )
      expect(create).toBeDefined()
      expect(mine.some((r) => r.type === 'NLMSG_ERROR' && r.seq === create?.seq && r.error?.errno === 0)).toBe(true)
      // The concurrent loop only dumps addresses: none of that is CMD's.
      expect(mine.filter((r) => r.type === 'RTM_GETADDR' || r.type === 'RTM_NEWADDR')).toEqual([])
      expect(summary?.shown).toBe(mine.length)
      expect(summary?.messages).toBe(mine.length)
      // the loop's traffic was captured, then filtered out; what was kept is CMD's, named
      expect(summary!.kernel_packets).toBeGreaterThan(summary!.packets)
      expect(mine.filter((r) => r.process?.comm !== 'ip')).toEqual([])
      await noNlmonLeft()
    },
    testLimit(200_000),
  )

  test(
    "--only-cmd -w: the pcap holds CMD's packets only (tshark), mode 0600",
    async () => {
      const run = await vm.sh(
        [
          'ip link del dmt2 2>/dev/null; rm -f /tmp/oc.pcap',
          // the concurrent loop has run once its marker exists
          'rm -f /tmp/bg.on; (while :; do ip -4 addr show dev lo >/dev/null; : >/tmp/bg.on; done) & BG=$!',
          'i=0; until [ -e /tmp/bg.on ]; do i=$((i+1)); [ $i -gt 1200 ] && { echo "LOOP NEVER RAN" >&2; break; }; sleep 0.05; done',
          `${cli()} trace --only-cmd --json -w /tmp/oc.pcap -- ip link add dmt2 type dummy; echo "trace exit $?" >&2`,
          'kill $BG',
          "stat -c 'mode %a' /tmp/oc.pcap >&2",
          'tshark -r /tmp/oc.pcap -T json --no-duplicate-keys > /tmp/oc.json && echo TSHARK_OK >&2',
        ].join('\n'),
        180_000,
      )
      expect(run.stderr).not.toContain('LOOP NEVER RAN')
      expect(run.stderr).toContain('trace exit 0')
      expect(run.stderr).toContain('mode 600')
      expect(run.stderr).toContain('TSHARK_OK')
      const summary = summaryOf(run.stdout)
      const packets = tsharkPackets((await vm.sh('cat /tmp/oc.json', 60_000)).stdout)
      expect(packets.length).toBe(summary?.written)
      const messages = packets.flatMap((p) => p.messages.map((m) => m.split('/').map(Number)))
      // RTM_NEWLINK (16) with NLM_F_CREATE (0x400) and the ACK (NLMSG_ERROR, 2) are there ...
      expect(messages.some(([type, flags]) => type === 16 && (flags & 0x400) !== 0)).toBe(true)
      expect(messages.some(([type]) => type === 2)).toBe(true)
      // ... the loop's RTM_GETADDR (22) / RTM_NEWADDR (20) are not, though they were captured
      expect(messages.filter(([type]) => type === 20 || type === 22)).toEqual([])
      expect(summary!.kernel_packets).toBeGreaterThan(packets.length)
      expect(summary?.shown).toBe(messages.length)
      await noNlmonLeft()
    },
    testLimit(200_000),
  )

  // One guest script per command family: node's start-up in TCG dominates each run, so the runs are not
  // separate guest commands. Even runs: a signal at any moment from the start (node's start-up
  // included); odd runs: any moment after the readiness line (link created, capture open).
  // At least 50 runs per command over the whole matrix: each kernel takes its share (runs FIRST.. of them,
  // each run's draws seeded by its number), so that adding a kernel does not add 50 more.
  const RUNS = Math.ceil(50 / KERNELS.length)
  const FIRST = KERNELS.indexOf(kernel) * RUNS + 1
  const share = `${RUNS} of the matrix's ${RUNS * KERNELS.length} runs`
  const signalRuns = (start: (i: string) => string, after: (i: string) => string) => `
      (while :; do ip link show >/dev/null; sleep 0.05; done) & BG=$!
      rm -rf /tmp/sig; mkdir /tmp/sig
      for i in $(seq ${FIRST} ${FIRST + RUNS - 1}); do
        ${start('$i')} & P=$!
        case $((i % 3)) in 0) S=INT;; 1) S=TERM;; 2) S=HUP;; esac
        R=$(awk -v s=$i 'BEGIN { srand(s * 7919); printf "%.2f", rand() * 3 }')
        if [ $((i % 2)) = 1 ]; then
          j=0; until grep -q '^listening on' /tmp/sig/$i.err; do j=$((j+1)); if [ $j -gt 1200 ] || ! kill -0 $P 2>/dev/null; then echo "run $i NEVER LISTENED"; cat /tmp/sig/$i.err; break; fi; sleep 0.05; done
          R=$(awk -v s=$i 'BEGIN { srand(s * 104729); printf "%.2f", rand() * 1.5 }')
        fi
        sleep $R
        kill -$S $P; wait $P; echo "run $i $S exit $?"
        ip -j link show type nlmon | grep -q ifname && { echo "run $i LEFT A LINK"; ip -j link show type nlmon | sed 's/.*"ifname":"\\([^"]*\\)".*/\\1/' | xargs -n1 ip link del; }
        ${after('$i')}
      done
      kill $BG`
  const codeOf = (signal: string) => String(128 + { INT: 2, TERM: 15, HUP: 1 }[signal as 'INT'])

  test(
    `capture: SIGINT, SIGTERM and SIGHUP at random moments (${share}): no link left behind, every pcap readable by tshark`,
    async () => {
      const t0 = Date.now()
      const run = await vm.sh(
        signalRuns(
          (i) => `${cli()} capture -w /tmp/sig/${i}.pcap 2>/tmp/sig/${i}.err >/dev/null`,
          (i) =>
            `if [ -e /tmp/sig/${i}.pcap ]; then tshark -r /tmp/sig/${i}.pcap >/tmp/sig/${i}.txt 2>/tmp/sig/${i}.ts && echo "run ${i} pcap ok $(wc -l < /tmp/sig/${i}.txt)" || { echo "run ${i} pcap BAD"; cat /tmp/sig/${i}.ts; }; fi`,
        ),
        1_500_000,
      )
      console.log(`${kernel}: ${RUNS} capture signal runs in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
      const out = run.stdout
      expect(out).not.toMatch(/LEFT A LINK|pcap BAD|NEVER LISTENED/)
      const exits = [...out.matchAll(/^run (\d+) (\w+) exit (\d+)$/gm)]
      expect(exits).toHaveLength(RUNS)
      // Killed before node set up its handlers, a run dies of the signal (128+N) and created nothing;
      // after, it ends normally (0).
      for (const [, , signal, code] of exits) expect(['0', codeOf(signal)]).toContain(code)
      // both ends of the documented set occur (the draw covers node's start-up and the capture)
      expect(exits.some(([, , , code]) => code === '0')).toBe(true)
      const written = [...out.matchAll(/^run \d+ pcap ok (\d+)$/gm)].map((m) => Number(m[1]))
      // every run signalled after the readiness line (the odd ones) left a pcap
      const afterReady = Array.from({ length: RUNS }, (_, k) => FIRST + k).filter((i) => i % 2 === 1).length
      expect(written.length).toBeGreaterThanOrEqual(afterReady)
      expect(written.some((n) => n > 0)).toBe(true)
      await noNlmonLeft()
    },
    testLimit(1_600_000),
  )

  test(
    `trace: SIGINT, SIGTERM and SIGHUP at random moments (${share}): exit 128+N, no link and no CMD left behind`,
    async () => {
      const t0 = Date.now()
      const run = await vm.sh(
        signalRuns(
          // CMD records its pid (the run's number expanded by the outer shell), so that a CMD left running would be seen
          (i) =>
            `${cli()} trace -- sh -c 'echo $$ >/tmp/sig/'${i}'.pid; exec sleep 1000' 2>/tmp/sig/${i}.err >/dev/null`,
          (i) =>
            `[ -s /tmp/sig/${i}.pid ] && { C=$(cat /tmp/sig/${i}.pid); echo "run ${i} cmd started"; [ -d /proc/$C ] && ! grep -q "^State:.*Z" /proc/$C/status && { echo "run ${i} LEFT CMD"; kill -KILL $C; }; }; true`,
        ),
        1_500_000,
      )
      console.log(`${kernel}: ${RUNS} trace signal runs in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
      const out = run.stdout
      expect(out).not.toMatch(/LEFT A LINK|LEFT CMD|NEVER LISTENED/)
      const exits = [...out.matchAll(/^run (\d+) (\w+) exit (\d+)$/gm)]
      expect(exits).toHaveLength(RUNS)
      // Before node's handlers, before CMD starts, or forwarded to CMD: always 128+N.
      for (const [, , signal, code] of exits) expect(code).toBe(codeOf(signal))
      // the draw covers runs where CMD had started and was ended by the forwarded signal
      expect((out.match(/cmd started/g) ?? []).length).toBeGreaterThan(0)
      await noNlmonLeft()
    },
    testLimit(1_600_000),
  )

  kernelIndependent(
    'prune removes the links of dead owners only; a SIGKILLed capture is cleaned up',
    async () => {
      const run = await vm.sh(
        [
          `${cli()} add dead0 --alias 'nlmonctl-ephemeral pid=999999 start=1' >/dev/null`,
          `${cli()} add live0 --alias 'nlmonctl-ephemeral pid=1' >/dev/null`,
          `${cli()} add mine0 --alias 'somebody else' >/dev/null`,
          `${cli()} capture -w /tmp/k.pcap --force 2>/tmp/k.err >/dev/null & P=$!`,
          'i=0; while ! grep -q listening /tmp/k.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.05; done',
          'kill -KILL $P; wait $P',
          'ip -j link show type nlmon > /tmp/before.json',
          `${cli()} prune --json`,
        ].join('\n'),
        180_000,
      )
      const before = JSON.parse((await vm.sh('cat /tmp/before.json')).stdout) as IpLink[]
      const killed = before.find((l) => l.ifname.startsWith('nlmonctl'))
      expect(killed?.ifalias).toMatch(/^nlmonctl-ephemeral pid=\d+ start=\d+$/)
      const pruned = (JSON.parse(run.stdout.trim().split('\n').pop() as string) as IpLink[]).map((l) => l.ifname).sort()
      expect(pruned).toEqual(['dead0', killed!.ifname].sort())
      const left = (await vm.json<IpLink[]>('ip -j link show type nlmon')).map((l) => l.ifname).sort()
      expect(left).toEqual(['live0', 'mine0'])
    },
    testLimit(200_000),
  )

  kernelIndependent(
    'pcap files: mode 0600, never over an existing file or through a symlink without --force',
    async () => {
      const run = await vm.sh(
        [
          'rm -f /tmp/e.pcap /tmp/l.pcap; echo keep > /tmp/e.pcap; chmod 644 /tmp/e.pcap; ln -s /tmp/e.pcap /tmp/l.pcap',
          `${cli()} capture -w /tmp/e.pcap --count 1; echo "exists $?"`,
          'cat /tmp/e.pcap',
          `${cli()} capture -w /tmp/l.pcap --force --count 1; echo "symlink $?"`,
          'cat /tmp/e.pcap',
          // traffic for as long as the capture waits for its one packet, not for a fixed time
          `(while :; do ip link show >/dev/null; sleep 0.2; done) & T=$!; ${cli()} capture -w /tmp/e.pcap --force --count 1 2>/dev/null; echo "force $?"; kill $T`,
          "stat -c 'mode %a' /tmp/e.pcap",
          'ip -j link show type nlmon',
        ].join('\n'),
        120_000,
      )
      expect(run.stdout).toContain('exists 4')
      expect(run.stderr).toContain('/tmp/e.pcap already exists; hint: use --force')
      expect(run.stdout).toContain('symlink 2')
      expect(run.stdout.match(/^keep$/gm)).toHaveLength(2)
      expect(run.stdout).toContain('force 0')
      expect(run.stdout).toContain('mode 600')
      expect(run.stdout.trim().split('\n').pop()).toBe('[]')
    },
    testLimit(180_000),
  )
})
