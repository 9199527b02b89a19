// Hardening cases that need a real nlmon link (see test/host/hardening.test.ts for the rest).
import { GuestFixture, KERNELS, type IpLink } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000

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
})
