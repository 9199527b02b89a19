// Hardening cases that need a real nlmon link (see test/host/hardening.test.ts for the rest).
import { cacheDir } from '../../vm/index.js'
import { GuestFixture, KERNELS, q, type IpLink, testLimit } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000

// rmmod and insmod as kmod does them (delete_module with O_NONBLOCK, finit_module): the guest has no kmod
// (its root is this machine's, which has none), and the kernel has no modprobe to call.
const PY = `/usr/bin/python3 -c 'import ctypes, os, sys; libc = ctypes.CDLL(None, use_errno=True)`
const rmmod = (mod: string) =>
  `${PY}; r = libc.syscall(176, b"${mod}", os.O_NONBLOCK); print("rmmod", "ok" if r == 0 else os.strerror(ctypes.get_errno()))'`
const insmod = (ko: string) =>
  `${PY}; fd = os.open(sys.argv[1], os.O_RDONLY); r = libc.syscall(313, fd, b"", 0); print("insmod", "ok" if r == 0 else os.strerror(ctypes.get_errno()))' ${ko}`

/** Wait (bounded, polling) until FILE has a line matching RE; else print NEVER and FILE. */
const waitFor = (file: string, re: string, pid = '$P') =>
  `i=0; until grep -q ${q(re)} ${file}; do i=$((i+1)); if [ $i -gt 1200 ] || ! kill -0 ${pid} 2>/dev/null; then echo "NEVER ${re}"; cat ${file}; break; fi; sleep 0.05; done`

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  const cli = () => `node ${vm.cliPath()}`
  const nlmonLinks = async (netns?: string) =>
    vm.json<IpLink[]>(`ip ${netns ? `-n ${netns} ` : ''}-j link show type nlmon`)
  beforeAll(async () => {
    await vm.boot(kernel)
  }, BOOT_TIMEOUT)
  afterAll(() => vm.close())

  test('trace -- a missing CMD: 127 and the same one line with and without --netns', async () => {
    await vm.sh('ip netns add hard1')
    try {
      const plain = await vm.sh(`${cli()} trace -- /nonexistent arg 2>&1 >/dev/null | grep -v '^[0-9]* messages\\|^  '`)
      const inNs = await vm.sh(
        `${cli()} trace --netns hard1 -- /nonexistent arg 2>&1 >/dev/null | grep -v '^[0-9]* messages\\|^  '`,
      )
      const status = await vm.sh(`${cli()} trace --netns hard1 -- /nonexistent arg >/dev/null 2>&1; echo $?`)
      expect(status.stdout.trim()).toBe('127')
      expect(plain.stdout).toMatch(/^nlmonctl trace: \/nonexistent: Command failed with ENOENT: \/nonexistent arg$/m)
      expect(inNs.stdout.split('\n').filter((l) => l.startsWith('nlmonctl'))).toEqual(
        plain.stdout.split('\n').filter((l) => l.startsWith('nlmonctl')),
      )
      expect(await nlmonLinks('hard1')).toEqual([])
    } finally {
      await vm.sh('ip netns del hard1')
    }
  })

  test('live capture --json | head -1: exit 0, the ephemeral link removed', async () => {
    // Traffic until the capture has ended, so that a line comes and head goes away (busybox sh: no PIPESTATUS).
    const st = await vm.sh(
      `(while :; do ip link show >/dev/null; sleep 0.05; done) & T=$!; { ${cli()} capture --json 2>/tmp/cap.err; echo $? >/tmp/st; } | head -1 >/tmp/cap.out; kill $T; cat /tmp/st; cat /tmp/cap.err >&2`,
    )
    expect({ status: st.stdout.trim(), stderr: st.stderr }).toMatchObject({ status: '0' })
    expect(await nlmonLinks()).toEqual([])
  })
  test(
    'trace SIGKILLed: CMD dies with it (PR_SET_PDEATHSIG); the ephemeral link stays until prune',
    async () => {
      const run = await vm.sh(
        [
          'rm -f /tmp/tk.pid /tmp/tk.err',
          `${cli()} trace -- sh -c 'echo $$ >/tmp/tk.pid; exec sleep 1000' >/dev/null 2>/tmp/tk.err & P=$!`,
          waitFor('/tmp/tk.err', '^listening on'),
          // CMD has started once it wrote its pid (sh execs sleep in the same process).
          'i=0; until [ -s /tmp/tk.pid ]; do i=$((i+1)); [ $i -gt 1200 ] && { echo "NO CMD PID"; break; }; sleep 0.05; done',
          'C=$(cat /tmp/tk.pid); echo "cmd $(cat /proc/$C/comm)"',
          'kill -KILL $P; wait $P; echo "trace exit $?"',
          // Gone, or a zombie until init reaps it: bounded poll.
          'i=0; while [ -d /proc/$C ] && ! grep -q "^State:.*Z" /proc/$C/status 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && { echo "CMD STILL RUNNING"; kill -KILL $C; break; }; sleep 0.05; done',
          'echo "cmd gone"',
        ].join('\n'),
        180_000,
      )
      expect(run.stdout).not.toMatch(/NEVER|NO CMD PID|CMD STILL RUNNING/)
      expect(run.stdout).toContain('cmd sleep')
      expect(run.stdout).toContain('trace exit 137')
      expect(run.stdout).toContain('cmd gone')
      // SIGKILL cannot clean up: the ephemeral link stays, marked with its dead owner; prune removes it.
      const left = await nlmonLinks()
      expect(left).toHaveLength(1)
      expect(left[0].ifalias).toMatch(/^nlmonctl-ephemeral pid=\d+ start=\d+$/)
      const pruned = await vm.sh(`${cli()} prune --json`)
      expect(pruned.exitCode).toBe(0)
      expect((JSON.parse(pruned.stdout) as IpLink[]).map((l) => l.ifname)).toEqual([left[0].ifname])
      expect(await nlmonLinks()).toEqual([])
    },
    testLimit(200_000),
  )

  test(
    'rmmod nlmon: refused while a link exists (a capture runs on); without the module, exit 7',
    async () => {
      const ko = `${cacheDir()}/kernels/$(uname -r)/modules/*-nlmon.ko`
      const run = await vm.sh(
        [
          `${cli()} add rm0 >/dev/null; echo "add $?"`,
          `echo "with a link: $(${rmmod('nlmon')})"`,
          'echo "links: $(ip -j link show type nlmon | grep -o \'"ifname":"[^"]*"\')"',
          `${cli()} capture >/tmp/rc.out 2>/tmp/rc.err & P=$!`,
          waitFor('/tmp/rc.err', '^listening on'),
          `echo "with a capture: $(${rmmod('nlmon')})"`,
          // the capture runs on: still there, ends normally on SIGINT
          'kill -0 $P && echo "capture running"',
          'kill -INT $P; wait $P; echo "capture exit $?"',
          `${cli()} del rm0; echo "del $?"`,
          `echo "no link: $(${rmmod('nlmon')})"`,
          'grep -q "^nlmon " /proc/modules && echo "module loaded" || echo "module gone"',
          // the guest kernel has no modprobe to call: the module cannot come back on demand
          `${cli()} capture --count 1 >/dev/null; echo "capture absent exit $?"`,
          `${cli()} trace -- true >/dev/null; echo "trace absent exit $?"`,
          `${cli()} add rm1; echo "add absent exit $?"`,
          // `ip link show type nlmon` cannot filter by a kind the kernel no longer knows: count the kinds
          'echo "nlmon links after: $(ip -j -d link show | grep -o \'"info_kind":"nlmon"\' | wc -l)"',
          insmod(ko),
        ].join('\n'),
        180_000,
      )
      const out = run.stdout
      expect(out).not.toContain('NEVER')
      expect(out).toContain('insmod ok') // nlmon is back for the other tests
      expect(out).toContain('add 0')
      // delete_module refuses a module in use (each nlmon link holds a reference): EAGAIN with O_NONBLOCK, as kmod's rmmod
      expect(out).toContain('with a link: rmmod Resource temporarily unavailable')
      expect(out).toContain('links: "ifname":"rm0"')
      expect(out).toContain('with a capture: rmmod Resource temporarily unavailable')
      expect(out).toContain('capture running')
      expect(out).toContain('capture exit 0')
      expect(out).toContain('del 0')
      expect(out).toContain('no link: rmmod ok')
      expect(out).toContain('module gone')
      expect(out).toContain('capture absent exit 7')
      expect(out).toContain('trace absent exit 7')
      expect(out).toContain('add absent exit 7')
      expect(run.stderr).toMatch(/^nlmonctl capture: .*no nlmon driver.*hint: the kernel has no nlmon support/m)
      expect(run.stderr).toMatch(/^nlmonctl add: cannot create link "rm1": this kernel has no nlmon driver/m)
      expect(out).toContain('nlmon links after: 0')
    },
    testLimit(200_000),
  )
})
