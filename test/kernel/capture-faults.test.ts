// capture under faults, on Debian's stock kernels: a burst written to a slow (9p) file, a file system
// that fills up mid-capture, a capture link deleted under the capture, a --netns namespace deleted
// under it, and sizes the guest cannot hold. Each scenario waits for the capture's readiness line
// ("listening on …") and for process exits, with bounded polls, never fixed sleeps before acting.
// The guest runs this machine's binaries: tshark and capinfos come from test/global-setup.mjs (installed
// on the host when missing).
import { GuestFixture, KERNELS, ROOT, type IpLink, testLimit } from './guest-fixture.js'
import type { Summary } from '../../src/core/capture-format.js'
import { parseSummaryLine } from '../helpers/records.js'

const BOOT_TIMEOUT = 15 * 60_000

/** The {"summary":…} line of a --json capture. */
function summaryOf(text: string): Summary | undefined {
  const line = text.split('\n').find((l) => l.startsWith('{"summary"'))
  return line ? parseSummaryLine(line) : undefined
}

/** Start CMD in the background (stdout/stderr to files), then wait, bounded, until it listens. */
const startCapture = (cmd: string, out: string) => [
  `rm -f ${out}.out ${out}.err`,
  `${cmd} >${out}.out 2>${out}.err & CAP=$!`,
  `i=0; until grep -q '^listening on' ${out}.err; do i=$((i+1)); if [ $i -gt 1200 ] || ! kill -0 $CAP 2>/dev/null; then echo "NEVER LISTENED"; cat ${out}.err; break; fi; sleep 0.05; done`,
]

/** Wait (bounded) for the capture to exit by itself; print its exit code. */
const awaitExit = (out: string, polls = 600) => [
  `i=0; while kill -0 $CAP 2>/dev/null; do i=$((i+1)); [ $i -gt ${polls} ] && { echo "STILL RUNNING"; kill -INT $CAP; break; }; sleep 0.05; done`,
  `wait $CAP; echo "capture exit $?"`,
  `cat ${out}.err >&2`,
]

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  const cli = () => `node ${vm.cliPath()}`
  const gen = (dumps: number) => `/usr/bin/python3 ${ROOT}bench/capture-gen.py ${dumps}`
  beforeAll(async () => {
    await vm.boot(kernel)
    // 22 links, as in the user's measurement: each RTM_GETLINK dump is ≈ 8 KiB a packet.
    await vm.sh('for i in $(seq 1 20); do ip link add fd$i type dummy; done')
  }, BOOT_TIMEOUT)
  afterAll(() => vm.close())
  const nlmonLinks = async (netns?: string) =>
    vm.json<IpLink[]>(`ip ${netns ? `-n ${netns} ` : ''}-j link show type nlmon`)

  test(
    'a burst to a slow (9p) file is kept whole with default settings',
    async () => {
      // The guest's shared folder is 9p (virtio, no cache): far slower than the burst.
      const file = `${vm.guest.shareDir}/burst.pcap`
      const run = await vm.sh(
        [
          `${cli()} add burst0 >/dev/null`,
          ...startCapture(`${cli()} capture --link burst0 --json -w ${file}`, '/tmp/burst'),
          `${gen(3000)} >/tmp/burst.gen`,
          'kill -INT $CAP',
          ...awaitExit('/tmp/burst'),
          'cat /tmp/burst.out',
          `capinfos -c -M ${file} | sed -n 's/^Number of packets: *//p' | sed 's/^/capinfos packets /'`,
          `${cli()} del burst0`,
        ].join('\n'),
        600_000,
      )
      expect(run.stdout).not.toContain('NEVER LISTENED')
      expect(run.stdout).toContain('capture exit 0')
      const s = summaryOf(run.stdout)
      expect(s).toBeDefined()
      // Kept = what the kernel tapped on the socket: no kernel drops, no queue drops.
      expect({ kernelDrops: s!.kernel_drops, queueDrops: s!.queue_drops }).toEqual({ kernelDrops: 0, queueDrops: 0 })
      expect(s!.packets).toBeGreaterThan(11_000)
      expect(s!.packets).toBe(s!.kernel_packets)
      expect(s!.written).toBe(s!.packets)
      expect(run.stdout).toContain(`capinfos packets ${s!.packets}\n`)
      // The queue held the backlog, under its default cap (¼ of the guest's available memory).
      expect(s!.queue_peak_bytes).toBeGreaterThan(0)
      expect(s!.queue_peak_bytes).toBeLessThanOrEqual(s!.queue_limit_bytes)
    },
    testLimit(700_000),
  )

  test(
    'a file system that fills up: exit 1 naming the file, the file readable to its last whole packet, no link left',
    async () => {
      const file = '/tmp/full/x.pcap'
      const run = await vm.sh(
        [
          'umount /tmp/full 2>/dev/null; mkdir -p /tmp/full && mount -t tmpfs -o size=2m tmpfs /tmp/full',
          ...startCapture(`${cli()} capture --json -w ${file}`, '/tmp/fill'),
          // Traffic until the capture ends by itself (2 MiB is ≈ 250 dumps); bounded.
          'n=0; while kill -0 $CAP 2>/dev/null && [ $n -lt 40 ]; do n=$((n+1)); ' + gen(100) + ' >/dev/null; done',
          ...awaitExit('/tmp/fill'),
          'cat /tmp/fill.out',
          `capinfos -c -M ${file} >/tmp/fill.capinfos 2>&1; echo "capinfos exit $?"; cat /tmp/fill.capinfos`,
          `tshark -r ${file} >/dev/null 2>/tmp/fill.tshark; echo "tshark exit $?"; cat /tmp/fill.tshark`,
          `stat -c 'size %s' ${file}`,
          'umount /tmp/full',
        ].join('\n'),
        600_000,
      )
      expect(run.stdout).not.toContain('NEVER LISTENED')
      expect(run.stdout).not.toContain('STILL RUNNING')
      expect(run.stdout).toContain('capture exit 1')
      expect(run.stderr).toContain(`nlmonctl capture: cannot write ${file}: no space left on device (ENOSPC)`)
      // the summary still comes, then the error object
      const s = summaryOf(run.stdout)
      expect(s?.written).toBeGreaterThan(10)
      expect(run.stdout).toMatch(/"error":\{"code":"KERNEL_ERROR","exitCode":1/)
      expect(run.stdout).toContain('capinfos exit 0')
      expect(run.stdout).toContain('tshark exit 0')
      expect(run.stdout).not.toMatch(/cut short|appears to be damaged|corrupt/i)
      expect(run.stdout).toMatch(new RegExp(`Number of packets: +${s!.written}\\n`))
      expect(await nlmonLinks()).toEqual([])
    },
    testLimit(700_000),
  )

  test(
    'a capture link deleted under the capture: it ends at once, exit 3, summary and error',
    async () => {
      const run = await vm.sh(
        [
          `${cli()} add gone0 >/dev/null`,
          ...startCapture(`${cli()} capture --link gone0 -w /tmp/gone.pcap`, '/tmp/gone'),
          `${gen(20)} >/dev/null`,
          'ip link del gone0',
          ...awaitExit('/tmp/gone', 200),
          'capinfos -c -M /tmp/gone.pcap | grep "Number of packets"',
        ].join('\n'),
        300_000,
      )
      expect(run.stdout).not.toContain('NEVER LISTENED')
      expect(run.stdout).not.toContain('STILL RUNNING')
      expect(run.stdout).toContain('capture exit 3')
      expect(run.stderr).toContain('nlmonctl capture: the capture link "gone0" was deleted; the capture ended')
      expect(run.stderr).toMatch(/^\d+ messages in \d+ packets/m)
      expect(run.stdout).toMatch(/Number of packets: +[1-9]/)
      expect(await nlmonLinks()).toEqual([])
    },
    testLimit(400_000),
  )

  test(
    'a --netns namespace deleted under the capture: it ends, exit 8, summary printed',
    async () => {
      const run = await vm.sh(
        [
          'ip netns del capns 2>/dev/null; ip netns add capns',
          ...startCapture(`${cli()} capture --netns capns --json`, '/tmp/ns'),
          `ip netns exec capns ${gen(5)} >/dev/null`,
          'ip netns del capns',
          ...awaitExit('/tmp/ns', 200),
          'cat /tmp/ns.out | grep -v \'^{"time"\'',
        ].join('\n'),
        300_000,
      )
      expect(run.stdout).not.toContain('NEVER LISTENED')
      expect(run.stdout).not.toContain('STILL RUNNING')
      expect(run.stdout).toContain('capture exit 8')
      expect(run.stderr).toContain('nlmonctl capture: network namespace "capns" was deleted; the capture ended')
      const s = summaryOf(run.stdout)
      expect(s?.messages).toBeGreaterThan(0)
      expect(run.stdout).toMatch(/"error":\{"code":"NETNS_NOT_FOUND","exitCode":8/)
    },
    testLimit(400_000),
  )

  test('a ring or a queue bigger than the guest can hold is refused at once, exit 2, nothing created', async () => {
    const run = await vm.sh(
      [
        `${cli()} capture --buffer-size 4096 --count 1; echo "buffer exit $?"`,
        `${cli()} capture --queue-size 8192 --count 1; echo "queue exit $?"`,
      ].join('\n'),
    )
    expect(run.stdout).toContain('buffer exit 2')
    expect(run.stdout).toContain('queue exit 2')
    expect(run.stderr).toMatch(
      /nlmonctl capture: a 4096 MiB kernel ring \(--buffer-size\) is more than this machine can hold: \d+ MiB available \(MemAvailable\)/,
    )
    expect(run.stderr).toMatch(
      /nlmonctl capture: a 8192 MiB queue \(--queue-size\) and the 64 MiB kernel ring are more than this machine can hold/,
    )
    expect(await nlmonLinks()).toEqual([])
  })
})
