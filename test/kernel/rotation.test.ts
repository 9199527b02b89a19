// Long recordings (-C/-G/-W, SIGHUP) and `-w -` as a live stream, on Debian's stock kernels, checked
// with tools nobody here wrote: capinfos counts each file's records, tshark and tcpdump read the
// stream, `ip -j link` says the ephemeral link is gone. Nothing waits on the clock for a live
// command: each step waits (bounded) for the readiness line, a file's appearance, or an exit.
import { GuestFixture, SURFACE_KERNEL, type IpLink, testLimit } from './guest-fixture.js'
import type { Summary } from '../../src/core/capture-format.js'
import { parseSummaryLine } from '../helpers/records.js'

const BOOT_TIMEOUT = 15 * 60_000

/** Poll (0.05 s) until the shell condition holds; after `polls` tries, fail the script with `what`. */
const until = (condition: string, what: string, polls = 4800) =>
  `i=0; until ${condition}; do i=$((i+1)); if [ $i -gt ${polls} ]; then echo "timed out waiting for ${what}" >&2; ` +
  `cat /tmp/rot/*.err >&2 2>/dev/null; exit 99; fi; sleep 0.05; done`

/** A steady generator: ip -batch dumps of every link (10 dummies make each dump ~20 KB) until /tmp/rot/stop exists. */
const GENERATOR = [
  'for n in 0 1 2 3 4 5 6 7 8 9; do ip link add rtd$n type dummy 2>/dev/null; done',
  'yes "link show" | head -200 > /tmp/rot/batch',
  '(n=0; while [ ! -e /tmp/rot/stop ] && [ $n -lt 2000 ]; do ip -s -s -d -batch /tmp/rot/batch >/dev/null; n=$((n+1)); done) & GEN=$!',
].join('\n')

const STOP_GENERATOR = 'touch /tmp/rot/stop; wait $GEN'

/** `capinfos -c` of each file, as name → records (capinfos fails on a file that is not whole pcap). */
function counts(stdout: string): Map<string, number> {
  const map = new Map<string, number>()
  for (const line of stdout.split('\n')) {
    const m = /^(\/tmp\/rot\/\S+)\t(\d+)$/.exec(line)
    if (m) map.set(m[1], Number(m[2]))
  }
  return map
}

const summaryOf = (stdout: string): Summary => {
  const line = stdout.split('\n').find((l) => l.startsWith('{"summary"'))
  if (!line) throw new Error(`no summary line in:\n${stdout}`)
  return parseSummaryLine(line)
}

// The file writer (rotation, streams) does not vary with the kernel: the surface kernel of the matrix is enough.
describe.each([SURFACE_KERNEL])('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  const cli = () => `node ${vm.cliPath()}`
  beforeAll(async () => {
    await vm.boot(kernel)
  }, BOOT_TIMEOUT)
  afterAll(async () => {
    await vm.sh('for n in 0 1 2 3 4 5 6 7 8 9; do ip link del rtd$n 2>/dev/null; done; true').catch(() => undefined)
    await vm.close()
  })
  beforeEach(async () => {
    await vm.sh(
      'rm -rf /tmp/rot; mkdir -p /tmp/rot; for n in 0 1 2 3 4 5 6 7 8 9; do ip link del rtd$n 2>/dev/null; done; true',
    )
  })
  const noNlmonLeft = async () => expect(await vm.json<IpLink[]>('ip -j link show type nlmon')).toEqual([])

  test(
    '-C 1 -W 3 keeps exactly the last 3 files, each ≤ 1 MB and whole; with no -W, the files hold every packet kept',
    async () => {
      // Two captures of the same traffic: one bounded by -W 3, one keeping everything.
      const script = [
        `${cli()} capture --json -w /tmp/rot/w3.pcap -C 1 -W 3 >/tmp/rot/w3.out 2>/tmp/rot/w3.err & A=$!`,
        `${cli()} capture --json -w /tmp/rot/all.pcap -C 1 >/tmp/rot/all.out 2>/tmp/rot/all.err & B=$!`,
        until('grep -q "^listening on" /tmp/rot/w3.err && grep -q "^listening on" /tmp/rot/all.err', 'readiness'),
        GENERATOR,
        // five files started: two removed by -W 3
        until('[ -e /tmp/rot/w3.pcap4 ]', 'the 5th file', 12_000),
        STOP_GENERATOR,
        'kill -INT $A $B; wait $A; echo "w3 exit $?" >&2; wait $B; echo "all exit $?" >&2',
        'ls /tmp/rot/ | grep -c "^w3.pcap" >&2',
        'capinfos -c -M -T -r /tmp/rot/w3.pcap* /tmp/rot/all.pcap*',
        'stat -c "size %n %s" /tmp/rot/w3.pcap* /tmp/rot/all.pcap*',
        'echo; cat /tmp/rot/w3.out; cat /tmp/rot/all.out',
      ].join('\n')
      const run = await vm.sh(script, 900_000)
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
        exitCode: 0,
        stderr: expect.stringMatching(/w3 exit 0\nall exit 0\n/),
      })
      const records = counts(run.stdout)
      const sizes = new Map(
        [...run.stdout.matchAll(/^size (\S+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])] as [string, number]),
      )
      const [w3, all] = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{"summary"'))
        .map((l) => parseSummaryLine(l))

      // -W 3: exactly the three newest of the files this run wrote
      const kept = [...records.keys()].filter((f) => f.startsWith('/tmp/rot/w3.pcap')).sort()
      const last = w3.files - 1
      expect(w3.files).toBeGreaterThanOrEqual(5)
      expect(kept).toEqual([last - 2, last - 1, last].map((n) => `/tmp/rot/w3.pcap${n}`).sort())
      // every file: readable on its own (capinfos counted it), at most 1 MB (1,000,000 bytes): a file
      // is cut before the record that would take it past the bound
      const allFiles = [...records.keys()].filter((f) => f.startsWith('/tmp/rot/all.pcap'))
      for (const f of [...kept, ...allFiles]) {
        expect({ f, size: sizes.get(f)! <= 1_000_000 }).toEqual({ f, size: true })
        expect(records.get(f)).toBeGreaterThan(0)
      }
      // the full files (all but the last) are nearly full: the rotation is by size, not early
      for (const f of kept.slice(0, 2)) expect(sizes.get(f)!).toBeGreaterThan(900_000)
      // no -W: nothing removed, and the files together hold every packet kept — none lost or doubled
      // between two files
      expect(allFiles).toHaveLength(all.files)
      const sum = allFiles.reduce((n, f) => n + records.get(f)!, 0)
      expect({ sum, written: all.written, packets: all.packets }).toEqual({
        sum,
        written: sum,
        packets: sum,
      })
      expect(all.packets).toBe(all.kernel_packets - all.kernel_drops - all.queue_drops)
      // with -W 3 the kept files hold the last of what was written
      expect(kept.reduce((n, f) => n + records.get(f)!, 0)).toBeLessThan(w3.written)
      await noNlmonLeft()
    },
    testLimit(1_200_000),
  )

  test(
    '-G 2 names each file by strftime, a new one every 2 s; the files hold every packet kept',
    async () => {
      const script = [
        `${cli()} capture --json -w '/tmp/rot/nl-%Y%m%d-%H%M%S.pcap' -G 2 >/tmp/rot/g.out 2>/tmp/rot/g.err & A=$!`,
        until('grep -q "^listening on" /tmp/rot/g.err', 'readiness'),
        'date +%Y%m%d-%H%M%S >/tmp/rot/start',
        GENERATOR,
        until('[ "$(ls /tmp/rot | grep -c "^nl-")" -ge 3 ]', 'three files'),
        STOP_GENERATOR,
        'kill -INT $A; wait $A; echo "g exit $?" >&2',
        'echo "start $(cat /tmp/rot/start)"',
        'capinfos -c -M -T -r /tmp/rot/nl-*',
        'cat /tmp/rot/g.out',
      ].join('\n')
      const run = await vm.sh(script, 600_000)
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
        exitCode: 0,
        stderr: expect.stringContaining('g exit 0'),
      })
      const records = counts(run.stdout)
      const names = [...records.keys()].sort()
      expect(names.length).toBeGreaterThanOrEqual(3)
      const stamp = (f: string) => /^\/tmp\/rot\/nl-(\d{8})-(\d{6})\.pcap$/.exec(f)
      for (const f of names) expect({ f, named: stamp(f) !== null }).toEqual({ f, named: true })
      // local time of each file's start, in the guest's own clock; 2 s apart (or a little more)
      const seconds = names.map((f) => {
        const [, , hms] = stamp(f)!
        return Number(hms.slice(0, 2)) * 3600 + Number(hms.slice(2, 4)) * 60 + Number(hms.slice(4, 6))
      })
      for (let i = 1; i < seconds.length; i++) {
        const gap = (seconds[i] - seconds[i - 1] + 86_400) % 86_400
        expect(gap).toBeGreaterThanOrEqual(2)
        expect(gap).toBeLessThanOrEqual(4)
      }
      const start = /^start (\d{8}-\d{6})$/m.exec(run.stdout)![1]
      expect(names[0] <= `/tmp/rot/nl-${start}.pcap`).toBe(true)
      const summary = summaryOf(run.stdout)
      expect(summary.files).toBe(names.length)
      expect([...records.values()].reduce((a, b) => a + b, 0)).toBe(summary.written)
      expect(summary.written).toBe(summary.packets)
      await noNlmonLeft()
    },
    testLimit(900_000),
  )

  test(
    'SIGHUP starts a new file when rotating (none lost); without rotation it still ends the capture',
    async () => {
      const script = [
        `${cli()} capture --json -w /tmp/rot/hup.pcap -C 100 >/tmp/rot/h.out 2>/tmp/rot/h.err & A=$!`,
        until('grep -q "^listening on" /tmp/rot/h.err', 'readiness'),
        'ip link show >/dev/null',
        'kill -HUP $A',
        until('[ -e /tmp/rot/hup.pcap1 ]', 'the file SIGHUP starts'),
        'ip link show >/dev/null',
        'kill -HUP $A',
        until('[ -e /tmp/rot/hup.pcap2 ]', 'the second file SIGHUP starts'),
        'ip link show >/dev/null',
        'kill -0 $A && echo "still capturing after 2 SIGHUP"',
        'kill -INT $A; wait $A; echo "h exit $?" >&2',
        // no -C/-G: SIGHUP ends the capture, as it always did
        `${cli()} capture -w /tmp/rot/plain.pcap >/dev/null 2>/tmp/rot/p.err & B=$!`,
        until('grep -q "^listening on" /tmp/rot/p.err', 'readiness'),
        'kill -HUP $B; wait $B; echo "plain exit $?" >&2',
        'ls /tmp/rot | grep -c "^plain" >&2',
        'capinfos -c -M -T -r /tmp/rot/hup.pcap*',
        'cat /tmp/rot/h.out',
      ].join('\n')
      const run = await vm.sh(script, 600_000)
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
        exitCode: 0,
        stderr: expect.stringMatching(/h exit 0\n[^]*plain exit 0\n1\n/),
      })
      expect(run.stdout).toContain('still capturing after 2 SIGHUP')
      const records = counts(run.stdout)
      expect([...records.keys()].sort()).toEqual(['/tmp/rot/hup.pcap', '/tmp/rot/hup.pcap1', '/tmp/rot/hup.pcap2'])
      const summary = summaryOf(run.stdout)
      expect(summary.files).toBe(3)
      expect([...records.values()].reduce((a, b) => a + b, 0)).toBe(summary.written)
      expect(summary.written).toBe(summary.packets)
      await noNlmonLeft()
    },
    testLimit(900_000),
  )

  describe('-w - is a live stream', () => {
    /** capture -w - | READER: traffic until the capture ends (the reader's exit ends it), bounded. */
    const piped = (reader: string, show = true) =>
      [
        `( ${cli()} capture -w - 2>/tmp/rot/s.err; echo "capture exit $?" >/tmp/rot/s.rc ) | ${reader} >/tmp/rot/s.out 2>/tmp/rot/r.err & P=$!`,
        until('grep -q "^listening on" /tmp/rot/s.err', 'readiness'),
        // traffic until the capture has ended on its own (its reader gone: EPIPE)
        '(n=0; while [ ! -e /tmp/rot/s.rc ] && [ $n -lt 3000 ]; do ip link show >/dev/null; n=$((n+1)); done) & GEN=$!',
        until('[ -e /tmp/rot/s.rc ]', 'the capture to end after its reader'),
        'wait $P; wait $GEN',
        'cat /tmp/rot/s.rc; echo "stdout bytes $(wc -c </tmp/rot/s.out)"',
        show ? 'cat /tmp/rot/s.out' : 'true',
        'ip -j link show type nlmon',
      ].join('\n')

    test.each([
      ['tshark -r - -c 5', 'tshark -r - -c 5 -T fields -e frame.number -e netlink.family', /^[1-5]\t0x[0-9a-f]{4}$/],
      ['tcpdump -r - -c 5', 'tcpdump -n -r - -c 5', /^\d{2}:\d{2}:\d{2}\.\d+ /],
    ])(
      '%s reads packets live; its exit ends the capture cleanly (exit 0, link removed)',
      async (_name, reader, packet) => {
        const run = await vm.sh(piped(reader), 600_000)
        expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' })
        expect(run.stdout).toContain('capture exit 0')
        const lines = run.stdout.split('\n')
        const read = lines.filter((l) => packet.test(l) && !l.startsWith('capture') && !l.startsWith('stdout'))
        expect({ read: read.length, out: run.stdout }).toEqual({ read: 5, out: run.stdout })
        // the link: gone, by iproute2's word
        expect(lines.filter((l) => l.startsWith('[')).pop()).toBe('[]')
      },
      900_000,
    )

    test(
      '| head -c 100: 100 bytes of pcap, a clean exit, the link removed',
      async () => {
        const run = await vm.sh(piped('head -c 100', false) + '\nhead -c 4 /tmp/rot/s.out | od -An -tx1', 600_000)
        expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' })
        expect(run.stdout).toContain('capture exit 0')
        expect(run.stdout).toContain('stdout bytes 100')
        // pcap's nanosecond magic a1b23c4d, little-endian (x86)
        expect(run.stdout).toMatch(/ 4d 3c b2 a1\s*$/)
        expect(
          run.stdout
            .split('\n')
            .filter((l) => l.startsWith('['))
            .pop(),
        ).toBe('[]')
      },
      testLimit(900_000),
    )
  })
})
