// The real-kernel guest harness itself: one boot per kernel of NLMONCTL_KERNELS (default bookworm,trixie,sid), then
// checks that the guest is what the kernel suites rely on. A kernel or QEMU that cannot be had fails the
// suite with the harness's message (it never skips).
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import {
  bootGuest,
  BootCrash,
  GuestCommandError,
  kernelsFromEnv,
  MAX_SLOWNESS,
  REPO_ROOT,
  type Guest,
} from '../../vm/index.js'

/** What `uname -r` of each Debian kernel looks like. */
const RELEASES: Record<string, RegExp> = {
  bookworm: /^6\.1\.\d+-\d+-amd64$/,
  trixie: /^6\.12\.\d+(\+deb13)?-amd64$|^6\.12\.\d+-\d+-amd64$/,
  sid: /^7\.\d+\.\d+\S*-amd64$/,
  experimental: /^7\.\d+\S*-amd64$/,
}

const BOOT_TIMEOUT_MS = 10 * 60_000

describe.each(kernelsFromEnv())('%s guest', (kernel) => {
  let guest: Guest

  beforeAll(async () => {
    guest = await bootGuest({ kernel })
  }, BOOT_TIMEOUT_MS)

  afterAll(async () => {
    await guest?.close()
  }, 60_000)

  test('runs the expected Debian kernel', async () => {
    const { stdout, stderr, exitCode } = await guest.run('uname -r')
    expect({ stderr, exitCode }).toEqual({ stderr: '', exitCode: 0 })
    const release = stdout.trim()
    expect(release).toMatch(RELEASES[kernel])
    expect(guest.release).toBe(release)
  })

  test('has a real nlmon driver', async () => {
    const result = await guest.run(
      'ip link add nlmtest type nlmon && ip -j -d link show nlmtest; s=$?; ip link del nlmtest; exit $s',
    )
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const [link] = JSON.parse(result.stdout)
    expect(link).toMatchObject({
      ifname: 'nlmtest',
      link_type: 'netlink',
      mtu: 3776,
      min_mtu: 16,
      linkinfo: { info_kind: 'nlmon' },
    })
  })

  test('has dummy, veth and bridge links for non-nlmon fixtures', async () => {
    const result = await guest.run(
      'ip link add d0 type dummy && ip link add v0 type veth peer name v1 && ip link add br0 type bridge && ip -j -d link show | tr -d "\\n"; s=$?; ip link del d0; ip link del v0; ip link del br0; exit $s',
    )
    expect(result.exitCode).toBe(0)
    const kinds = Object.fromEntries(
      JSON.parse(result.stdout).map((l: { ifname: string; linkinfo?: { info_kind?: string } }) => [
        l.ifname,
        l.linkinfo?.info_kind,
      ]),
    )
    expect(kinds).toMatchObject({ d0: 'dummy', v0: 'veth', v1: 'veth', br0: 'bridge' })
  })

  test('round-trips stdout, stderr and the exit code exactly', async () => {
    expect(await guest.run(`printf 'a\\nb'; echo err >&2; exit 3`)).toMatchObject({
      stdout: 'a\nb',
      stderr: 'err\n',
      exitCode: 3,
    })
    expect(await guest.run(`printf '%s' 'ünïcödé ✓'; printf '\\n\\n' >&2`)).toMatchObject({
      stdout: 'ünïcödé ✓',
      stderr: '\n\n',
      exitCode: 0,
    })
    const big = await guest.run('head -c 300000 /dev/zero | tr "\\0" x')
    expect(big.stdout).toBe('x'.repeat(300000))
    expect(await guest.run('kill -TERM $$')).toMatchObject({ exitCode: 143, signal: 'SIGTERM' })
  })

  test('runs without stdin, as root, in the checkout, with a writable HOME', async () => {
    const result = await guest.run(
      'cat; id -u; pwd; touch "$HOME/probe" && echo home-ok; touch package.json 2>/dev/null || echo checkout-ro',
    )
    expect(result).toMatchObject({ stdout: `0\n${REPO_ROOT}\nhome-ok\ncheckout-ro\n`, exitCode: 0 })
  })

  test('passes per-command environment variables', async () => {
    const result = await guest.run('printf "%s|%s|%s" "$FOO" "$EMPTY" "${LANG-unset}"', {
      env: { FOO: 'bar baz', EMPTY: '', LANG: undefined },
    })
    expect(result).toMatchObject({ stdout: 'bar baz||unset', exitCode: 0 })
    // one command's env does not leak into the next
    expect((await guest.run('printf "%s" "${FOO-unset}"')).stdout).toBe('unset')
  })

  test('kills a hung command (and its children) on timeout and stays usable', async () => {
    const hung = guest.run('sleep 1000 & echo $! > /tmp/child.pid; echo $$ > /tmp/shell.pid; echo started; wait', {
      timeoutMs: 1500,
    })
    await expect(hung).rejects.toThrow(GuestCommandError)
    const error = (await hung.catch((e: unknown) => e)) as GuestCommandError
    expect(error.timedOut).toBe(true)
    expect(error.stdout).toBe('started\n')
    // where each of its processes was waiting, so that a hang in CI explains itself
    expect(error.stderr).toMatch(/timed out after 1500 ms; its processes:/)
    expect(error.stderr).toMatch(/^ {2}\d+ S wchan=\S+ sleep 1000$/m)
    expect(error.message).toContain('last console lines')
    const after = await guest.run(
      'for f in /tmp/shell.pid /tmp/child.pid; do kill -0 "$(cat $f)" 2>/dev/null && echo "$f alive"; done; echo usable',
    )
    expect(after).toMatchObject({ stdout: 'usable\n', exitCode: 0 })
  })

  test("measures the guest's slowness from node's start-up in it, within [1, MAX_SLOWNESS]", async () => {
    const slowness = await guest.slowness()
    expect(guest.lastNodeStartMs).toBeGreaterThan(0)
    expect(slowness).toBeGreaterThanOrEqual(1)
    expect(slowness).toBeLessThanOrEqual(MAX_SLOWNESS)
    // cached: a second call within the minute does not start node three more times
    const again = await guest.slowness()
    expect(again).toBe(slowness)
    process.stderr.write(`[${kernel}] node -e 0 in the guest: ${guest.lastNodeStartMs} ms → slowness ${slowness}\n`)
  })

  test('runs commands concurrently', async () => {
    const results = await Promise.all([1, 2, 3].map((n) => guest.run(`sleep 0.${n}; echo ${n}`)))
    expect(results.map((r) => r.stdout)).toEqual(['1\n', '2\n', '3\n'])
  })

  test("sees this machine's node and the checkout at the same paths", async () => {
    const result = await guest.run(
      `node -e 'console.log(process.version)'; test -f ${JSON.stringify(path.join(REPO_ROOT, 'package.json'))} && echo checkout-ok; command -v node`,
    )
    expect(result.stderr).toBe('')
    const [version, checkout] = result.stdout.split('\n')
    expect(version).toBe(process.version)
    expect(checkout).toBe('checkout-ok')
  })

  test('shares a writable folder at the same path on both sides', async () => {
    const result = await guest.run(`echo from-guest > ${JSON.stringify(path.join(guest.shareDir, 'probe.txt'))}`)
    expect(result.exitCode).toBe(0)
    expect(await readFile(path.join(guest.shareDir, 'probe.txt'), 'utf8')).toBe('from-guest\n')
  })

  test('gives ip netns and /run their own writable state', async () => {
    const result = await guest.run(
      'ip netns add nlmtest-ns && ip -n nlmtest-ns link add nlm0 type nlmon && ip -n nlmtest-ns -j link show nlm0 >/dev/null && ip netns del nlmtest-ns && echo ok',
    )
    expect(result).toMatchObject({ stdout: 'ok\n', stderr: '', exitCode: 0 })
  })
})

test(
  'a kernel that dies while booting is booted three times, then the error says why',
  async () => {
    // rdinit names no program: the kernel panics ("No working init found") and QEMU exits, as in
    // the rare early-boot crash under TCG that bootGuest retries.
    const kernel = kernelsFromEnv()[0]
    const lines: string[] = []
    const boot = bootGuest({ kernel, kernelArgs: ['rdinit=/nlmonctl-no-such-init'], log: (line) => lines.push(line) })
    await expect(boot).rejects.toBeInstanceOf(BootCrash)
    await expect(boot).rejects.toThrow(/did not come up: QEMU exited .*before the agent was ready/)
    expect(lines.filter((line) => /booting again \(attempt [23] of 3\)/.test(line))).toHaveLength(2)
    expect(lines.filter((line) => line.startsWith(`booting ${kernel}`))).toHaveLength(3)
  },
  BOOT_TIMEOUT_MS,
)
