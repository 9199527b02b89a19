// Wireshark's extcap, driven by tshark (Wireshark's own engine, nobody here wrote it) on Debian's
// stock kernels: install into a temporary extcap folder (HOME points tshark at it; the real home is
// never touched), tshark lists and captures, what it got is checked byte for byte against a
// simultaneous `nlmonctl capture` of the same window, and no nlmon link is left behind however tshark
// ends. tshark is part of the host (the guest's root); capture.test.ts installs it when missing.
import { GuestFixture, SURFACE_KERNEL, ROOT, q, type IpLink } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000
// Each test: tshark starts the launcher (node) 3-4 times; under TCG on a loaded machine that is minutes.
const TEST_TIMEOUT = 25 * 60_000

const HOME = '/tmp/xhome'
// Wireshark 4.0 looks for personal extcaps in its personal configuration folder's extcap/.
const LAUNCHER = `${HOME}/.config/wireshark/extcap/nlmonctl`

/** A generator of netlink traffic that runs until /tmp/gen.stop exists (ip link add/del of a dummy). */
const GENERATOR =
  'rm -f /tmp/gen.stop; (i=0; while [ ! -e /tmp/gen.stop ]; do i=$((i+1)); ip link add xgen$i type dummy; ip link del xgen$i; done) >/dev/null 2>&1 & GEN=$!'
const STOP_GENERATOR = 'touch /tmp/gen.stop; wait $GEN'

/** Poll (0.1 s, at most `polls` times) until no nlmon link exists; prints what is left otherwise. */
const untilNoNlmon = (polls: number) =>
  `i=0; while [ "$(ip -j link show type nlmon)" != "[]" ]; do i=$((i+1)); [ $i -gt ${polls} ] && { echo "nlmon links left: $(ip -j link show type nlmon)" >&2; break; }; sleep 0.1; done`

/** Every packet of a capture file as its raw frame in hex, read by tshark. */
interface TsharkFrame {
  _source: { layers: { frame_raw: [string, ...unknown[]]; frame: Record<string, string> } }
}

// Wireshark's side does not vary with the kernel: the surface kernel of the matrix is enough.
describe.each([SURFACE_KERNEL])('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  const nlmonctl = `node ${ROOT}bin/run.js`
  beforeAll(async () => {
    await vm.boot(kernel)
    const tools = await vm.sh('command -v tshark && command -v capinfos')
    if (tools.exitCode !== 0)
      throw new Error('extcap tests need tshark and capinfos on this machine (apt-get install tshark)')
  }, BOOT_TIMEOUT)
  afterAll(() => vm.close())

  const frames = async (file: string): Promise<string[]> => {
    const run = await vm.sh(`tshark -r ${q(file)} -T json -x -j frame 2>/dev/null`, 300_000)
    if (run.exitCode !== 0) throw new Error(`tshark -r ${file}: ${run.stderr}`)
    // The frame's bytes (cooked header + netlink messages), not its time: each nlmon link stamps its
    // own copy of a message, so the two captures' times of one message differ by microseconds.
    return (JSON.parse(run.stdout) as TsharkFrame[]).map((p) => p._source.layers.frame_raw[0])
  }

  test(
    'install writes a 0755 launcher into the temporary extcap folder; tshark -D lists one interface per namespace',
    async () => {
      const run = await vm.sh(
        [
          `mkdir -p ${HOME}; export HOME=${HOME}`,
          'ip netns add xtns',
          `${nlmonctl} extcap install`,
          `${nlmonctl} extcap install`, // again: changes nothing
          `stat -c '%a %U' ${LAUNCHER}`,
          'tshark -D 2>/dev/null | grep nlmonctl',
          'ip netns del xtns',
        ].join('\n'),
        1_200_000,
      )
      expect(run.stderr).toBe('')
      expect(run.stdout.split('\n')).toEqual([
        `installed ${LAUNCHER}`,
        `already installed: ${LAUNCHER}`,
        '755 root',
        expect.stringMatching(/^\d+\. nlmonctl \(Netlink \(nlmon\): this network namespace\)$/),
        expect.stringMatching(/^\d+\. nlmonctl@xtns \(Netlink \(nlmon\): network namespace xtns\)$/),
        '',
      ])
    },
    TEST_TIMEOUT,
  )

  test(
    'tshark -a duration:5 gets the messages a simultaneous nlmonctl capture gets (compared byte for byte); no link left',
    async () => {
      const run = await vm.sh(
        [
          `export HOME=${HOME}; rm -f /tmp/g.pcap /tmp/t.pcapng`,
          `${nlmonctl} capture -w /tmp/g.pcap 2>/tmp/g.err & G=$!`,
          'i=0; while ! grep -q "^listening on" /tmp/g.err; do i=$((i+1)); [ $i -gt 2400 ] && break; sleep 0.05; done',
          GENERATOR,
          'timeout 300 tshark -i nlmonctl -a duration:5 -w /tmp/t.pcapng 2>/tmp/t.err; echo "tshark exit $?"',
          STOP_GENERATOR,
          'kill -INT $G; wait $G; echo "capture exit $?"',
          untilNoNlmon(1200),
          'cat /tmp/g.err /tmp/t.err >&2',
          // the extcap writes pcapng: each packet's process reaches Wireshark as its comment
          `tshark -r /tmp/t.pcapng -T fields -e frame.comment 2>/dev/null | grep -c ' source=bpf' | sed 's/^/COMMENTS /'`,
        ].join('\n'),
        1_200_000,
      )
      // stderr: nlmonctl capture's, then tshark's (an extcap's stderr is reported by tshark as "Error by extcap pipe").
      expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({
        stdout: expect.stringMatching(/tshark exit 0\n[\s\S]*capture exit 0/),
        stderr: expect.not.stringMatching(/nlmon links left|extcap pipe/),
      })
      const theirs = await frames('/tmp/t.pcapng')
      const ours = new Map<string, number>()
      for (const f of await frames('/tmp/g.pcap')) ours.set(f, (ours.get(f) ?? 0) + 1)
      const oursCount = [...ours.values()].reduce((a, b) => a + b, 0)
      // The generator ran the whole 5 s: tshark saw many of its messages (under TCG, tens per second).
      expect(theirs.length).toBeGreaterThan(20)
      // A multiset: each of tshark's frames takes one equal frame of ours (the generator repeats messages).
      const missing = theirs.filter((f) => {
        const left = ours.get(f) ?? 0
        if (left > 0) ours.set(f, left - 1)
        return left === 0
      })
      expect({ missing: missing.slice(0, 3), count: missing.length }).toEqual({ missing: [], count: 0 })
      process.stderr.write(`[${kernel}] tshark ${theirs.length} packets in 5 s, nlmonctl capture ${oursCount}\n`)
      expect(Number(/^COMMENTS (\d+)$/m.exec(run.stdout)?.[1])).toBeGreaterThan(0)
    },
    TEST_TIMEOUT,
  )

  test(
    'tshark -a packets:25 stops after 25 packets; no link left',
    async () => {
      const run = await vm.sh(
        [
          `export HOME=${HOME}; rm -f /tmp/p.pcapng`,
          GENERATOR,
          'timeout 300 tshark -i nlmonctl -a packets:25 -w /tmp/p.pcapng 2>/tmp/p.err; echo "tshark exit $?"',
          STOP_GENERATOR,
          untilNoNlmon(1200),
          'capinfos -c -M /tmp/p.pcapng',
          'cat /tmp/p.err >&2',
        ].join('\n'),
        1_200_000,
      )
      expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({
        stdout: expect.stringMatching(/tshark exit 0\n[\s\S]*Number of packets:\s+25\n/),
        stderr: expect.not.stringMatching(/nlmon links left|extcap pipe/),
      })
    },
    TEST_TIMEOUT,
  )

  test(
    'tshark SIGKILLed: the FIFO reader goes away, the extcap capture notices (EPIPE), removes its link and exits',
    async () => {
      const run = await vm.sh(
        [
          `export HOME=${HOME}; rm -f /tmp/k.pcapng`,
          GENERATOR,
          'tshark -i nlmonctl -w /tmp/k.pcapng 2>/tmp/k.err & T=$!',
          // Ready: the extcap's ephemeral link is UP and tshark has written packets.
          'i=0; until ip -j link show type nlmon up | grep -q nlmonctl-ephemeral && [ "$(capinfos -c -M /tmp/k.pcapng 2>/dev/null | grep -o "[0-9]*$")" -gt 0 ] 2>/dev/null; do i=$((i+1)); [ $i -gt 2400 ] && { echo "never ready" >&2; break; }; sleep 0.1; done',
          'OWNER=$(ip -j link show type nlmon | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2); echo "owner $OWNER"',
          'kill -KILL $T; wait $T',
          untilNoNlmon(1200),
          STOP_GENERATOR,
          'i=0; while [ -n "$OWNER" ] && [ -e /proc/$OWNER ]; do i=$((i+1)); [ $i -gt 600 ] && { echo "extcap still running" >&2; break; }; sleep 0.1; done',
          'cat /tmp/k.err >&2',
        ].join('\n'),
        1_200_000,
      )
      expect({ stdout: run.stdout, stderr: run.stderr }).toEqual({
        stdout: expect.stringMatching(/^owner [0-9]+$/m),
        stderr: expect.not.stringMatching(/never ready|nlmon links left|extcap still running/),
      })
      expect(await vm.json<IpLink[]>('ip -j link show type nlmon')).toEqual([])
    },
    TEST_TIMEOUT,
  )

  test(
    'uninstall removes the launcher, and only it; tshark no longer lists nlmonctl',
    async () => {
      const run = await vm.sh(
        [
          `export HOME=${HOME}`,
          `${nlmonctl} extcap uninstall`,
          `test -e ${LAUNCHER} && echo "launcher left"`,
          // Interfaces of ours only: an ephemeral link (nlmonctl0) is a network interface tshark lists too.
          "tshark -D 2>/dev/null | grep -c 'Netlink (nlmon)'",
          `printf '#!/bin/sh\\n' > ${LAUNCHER}; ${nlmonctl} extcap uninstall; echo "exit $?"; test -e ${LAUNCHER} && echo "foreign file kept"`,
        ].join('\n'),
        1_200_000,
      )
      expect(run.stdout.split('\n')).toEqual([`removed ${LAUNCHER}`, '0', 'exit 3', 'foreign file kept', ''])
      expect(run.stderr).toContain('was not written by nlmonctl extcap install; left alone')
    },
    TEST_TIMEOUT,
  )
})
