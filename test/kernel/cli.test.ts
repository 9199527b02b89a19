// nlmonctl as a black box on Debian's stock kernels (which ship nlmon), every result cross-checked
// with iproute2's `ip -j -s -d link show`. One guest boot per kernel; NLMONCTL_KERNELS picks the matrix.
import { GuestFixture, KERNELS, SURFACE_KERNEL, q, shape, type IpLink, type Run, testLimit } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000 // includes the first download of a kernel on a fresh machine

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  beforeAll(() => vm.boot(kernel), BOOT_TIMEOUT)
  afterAll(() => vm.close())
  // Every test starts from a guest with no nlmon links.
  beforeEach(async () => {
    const links = await vm.json<IpLink[]>('ip -j link show type nlmon')
    if (links.length > 0) await vm.sh(links.map((link) => `ip link del ${q(link.ifname)}`).join('; '))
  })

  test("the kernel RFC's smoke sequence: add, set up, show, set down, del — each step confirmed by ip", async () => {
    const add = await vm.cli('add', 'nlmon0', '--down')
    expect(add).toMatchObject({ exitCode: 0, stdout: 'nlmon0\n', stderr: '' })
    let ip = await vm.ipLink('nlmon0')
    expect(ip?.linkinfo?.info_kind).toBe('nlmon')
    expect(ip?.link_type).toBe('netlink')
    expect(ip?.flags).not.toContain('UP')

    expect((await vm.cli('set', 'nlmon0', '--up')).exitCode).toBe(0)
    ip = await vm.ipLink('nlmon0')
    expect(ip?.flags).toContain('UP')

    const [listed] = JSON.parse((await vm.cli('list', '--json')).stdout)
    expect(listed.ifname).toBe('nlmon0')
    expect(listed.flags).toContain('UP')

    expect((await vm.cli('set', 'nlmon0', '--down')).exitCode).toBe(0)
    expect((await vm.ipLink('nlmon0'))?.flags).not.toContain('UP')

    expect(await vm.cli('del', 'nlmon0')).toMatchObject({ exitCode: 0, stdout: '', stderr: '' })
    expect(await vm.ipLink('nlmon0')).toBeUndefined()
  })

  test('every key nlmonctl prints equals what ip -j -s -d prints for the same link', async () => {
    await vm.cli('add', 'cmp0', '--alias', 'compare me', '--mtu', '4000', '--txqueuelen', '7', '--group', '3')
    await vm.sh('ip link show >/dev/null; ip addr show >/dev/null')
    await vm.cli('set', 'cmp0', '--down') // a DOWN link captures nothing: its counters hold still
    const ours = JSON.parse((await vm.cli('list', '--json')).stdout)[0]
    const theirs = (await vm.ipLink('cmp0')) as IpLink
    for (const [key, value] of Object.entries(ours)) expect([key, theirs[key]]).toEqual([key, value])
    expect(ours).toMatchObject({ mtu: 4000, txqlen: 7, group: '3', ifalias: 'compare me', min_mtu: 16 })
  })

  // Two code paths of nlmonctl on the same kernel: one kernel of the matrix is enough.
  if (kernel === SURFACE_KERNEL)
    test('list and stats print the same bytes on the fast path as through oclif', async () => {
      // bin/run.js answers these without oclif (dist/lean.cjs); --json in a pipe prints the addon's bytes
      // (native/src/link/ip_json.rs shapes the links). Links with counters, an alias that needs escaping,
      // other attributes; all DOWN so the counters hold still.
      await vm.cli('add', 'fast0', '--alias', 'quote " backslash \\ tab \t ü', '--mtu', '4000', '--group', '3')
      await vm.cli('add', 'fast1', '--txqueuelen', '9')
      await vm.cli('add', '--down')
      await vm.sh('ip link show >/dev/null; ip addr show >/dev/null')
      await vm.sh('ip link set fast0 down; ip link set fast1 down')
      const outcome = ({ stdout, stderr, exitCode }: Run) => ({ stdout, stderr, exitCode })
      const slow = async (words: string) => outcome(await vm.sh(`NLMONCTL_FAST_PATH=0 node ${vm.cliPath()} ${words}`))
      const fast = async (words: string) => outcome(await vm.sh(`node ${vm.cliPath()} ${words}`))
      for (const words of [
        'list --json',
        'stats --json',
        'list --json --netns=/proc/1/ns/net',
        'stats --netns /proc/1/ns/net --json',
        'list',
        'stats',
        'stats fast1 fast0',
        'stats fast1 fast0 --json',
      ]) {
        const [a, b] = [await fast(words), await slow(words)]
        expect([words, a]).toEqual([words, b])
        expect(a.exitCode).toBe(0)
      }
      // the fast path was taken: it never loads the full CLI bundle, so it writes no code- cache, only
      // its own lean- one (bin/run.js)
      const caches = await vm.sh(
        `d=$(mktemp -d); XDG_CACHE_HOME=$d node ${vm.cliPath()} stats --json >/dev/null; ls $d/nlmonctl | grep -c '^code-'; ` +
          `XDG_CACHE_HOME=$d NLMONCTL_FAST_PATH=0 node ${vm.cliPath()} stats --json >/dev/null; ls $d/nlmonctl | grep -c '^code-'`,
      )
      expect(caches.stdout.split(/\s+/).filter(Boolean)).toEqual(['0', '1'])
      const listed = JSON.parse((await fast('stats --json')).stdout) as IpLink[]
      expect(listed.map((l) => l.ifname).sort()).toEqual(['fast0', 'fast1', 'nlmon0'])
      expect(listed.find((l) => l.ifname === 'fast0')?.stats64?.rx.packets).toBeGreaterThan(0)
      // a failure is reported the same either way
      const [a, b] = [await fast('list --json --netns nope'), await slow('list --json --netns nope')]
      expect(a).toEqual(b)
      expect(a.exitCode).toBe(8)
    })

  test('auto-naming (nlmon0, nlmon1, a %d pattern) and explicit names', async () => {
    expect((await vm.cli('add')).stdout).toBe('nlmon0\n')
    expect((await vm.cli('add')).stdout).toBe('nlmon1\n')
    expect((await vm.cli('add', 'cap%d')).stdout).toBe('cap0\n')
    expect((await vm.cli('add', 'exactly15bytes_')).stdout).toBe('exactly15bytes_\n')
    const names = (await vm.ipLinks()).filter((l) => l.linkinfo?.info_kind === 'nlmon').map((l) => l.ifname)
    expect(names.sort()).toEqual(['cap0', 'exactly15bytes_', 'nlmon0', 'nlmon1'])
  })

  test('add leaves the link UP and capturing; stats agrees with ip -s -j', async () => {
    const link = JSON.parse((await vm.cli('add', '--json')).stdout)
    expect(link.flags).toContain('UP')
    const before = (await vm.ipLink(link.ifname))!.stats64!.rx.packets
    await vm.sh('for i in 1 2 3 4 5; do ip link show >/dev/null; done')
    const [during] = JSON.parse((await vm.cli('stats', link.ifname, '--json')).stdout)
    expect(during.stats64.rx.packets).toBeGreaterThan(before + 5)
    expect(during.stats64.rx.bytes).toBeGreaterThan(0)
    expect(during.stats64.tx.packets).toBe(0) // the C driver counts captured traffic as rx only

    await vm.cli('set', link.ifname, '--down')
    const [frozen] = JSON.parse((await vm.cli('stats', link.ifname, '--json')).stdout)
    expect(frozen.stats64).toEqual(pick((await vm.ipLink(link.ifname))!.stats64!))
    const table = await vm.cli('stats')
    expect(table.stdout).toMatch(
      new RegExp(`${link.ifname}\\s+DOWN\\s+${frozen.stats64.rx.packets}\\s+${frozen.stats64.rx.bytes}`),
    )
  })

  test('stats --watch reports per-interval rates', async () => {
    await vm.cli('add', 'w0')
    const run = await vm.sh(
      `(for i in $(seq 1 40); do ip link show >/dev/null; done) & node ${vm.cliPath()} stats w0 --watch --interval 0.5 --count 3 --json; wait`,
    )
    expect(run.exitCode).toBe(0)
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toHaveLength(3)
    for (const line of lines) {
      expect(line.links).toHaveLength(1)
      const rate = line.links[0]
      expect(rate.ifname).toBe('w0')
      expect(rate.rx.packets_per_sec).toBeCloseTo(rate.rx.packets / line.interval_sec, 0)
    }
    expect(lines.reduce((sum, line) => sum + line.links[0].rx.packets, 0)).toBeGreaterThan(0)
  })

  describe('del and set touch only nlmon links', () => {
    beforeAll(async () => {
      await vm.sh('ip link add dm0 type dummy; ip link add ve0 type veth peer name ve1; ip link add br0 type bridge')
    })

    test.each(['lo', 'dm0', 've0', 'br0'])('%s is refused by del and set, and stays as it was', async (name) => {
      const before = shape(await vm.ipLinks())
      const kind = name === 'lo' ? 'none' : (await vm.ipLink(name))!.linkinfo!.info_kind
      const del = await vm.cli('del', name)
      expect(del.exitCode).toBe(5)
      expect(del.stderr).toContain(`(kind: ${kind})`)
      const set = await vm.cli('set', name, '--mtu', '1280')
      expect(set.exitCode).toBe(5)
      expect(shape(await vm.ipLinks())).toEqual(before)
    })

    test('--if-exists, --if-not-exists, del --all', async () => {
      expect((await vm.cli('del', 'ghost')).exitCode).toBe(3)
      expect((await vm.cli('del', 'ghost', '--if-exists')).exitCode).toBe(0)
      expect((await vm.cli('add', 'keep0')).exitCode).toBe(0)
      expect((await vm.cli('add', 'keep0')).exitCode).toBe(4)
      const again = await vm.cli('add', 'keep0', '--if-not-exists')
      expect(again).toMatchObject({ exitCode: 0, stdout: 'keep0\n' })
      expect((await vm.cli('add', 'dm0', '--if-not-exists')).exitCode).toBe(4)
      await vm.cli('add')
      const deleted = JSON.parse((await vm.cli('del', '--all', '--json')).stdout)
      expect(deleted.map((l: { ifname: string }) => l.ifname).sort()).toEqual(['keep0', 'nlmon0'])
      const left = await vm.ipLinks()
      expect(left.filter((l) => l.linkinfo?.info_kind === 'nlmon')).toEqual([])
      expect(left.map((l) => l.ifname)).toEqual(expect.arrayContaining(['lo', 'dm0', 've0', 've1', 'br0']))
    })
  })

  test('set: MTU, alias, txqueuelen, rename with --down, each confirmed by ip', async () => {
    await vm.cli('add', 's0')
    expect((await vm.cli('set', 's0', '--mtu', '65536', '--alias', 'renamed soon', '--txqueuelen', '5')).exitCode).toBe(
      0,
    )
    expect(await vm.ipLink('s0')).toMatchObject({ mtu: 65536, ifalias: 'renamed soon', txqlen: 5 })
    const rename = await vm.cli('set', 's0', '--down', '--name', 's1')
    expect(rename).toMatchObject({ exitCode: 0, stdout: 's1\n' })
    expect(await vm.ipLink('s0')).toBeUndefined()
    expect((await vm.ipLink('s1'))?.flags).not.toContain('UP')
    const kernelSays = await vm.cli('set', 's1', '--mtu', '16')
    expect(kernelSays.exitCode).toBe(0)
  })

  test('--netns reaches a namespace made with ip netns add', async () => {
    await vm.sh('ip netns add blue')
    try {
      expect((await vm.cli('add', 'mon0', '--netns', 'blue')).stdout).toBe('mon0\n')
      expect(await vm.ipLink('mon0', 'blue')).toMatchObject({ linkinfo: { info_kind: 'nlmon' } })
      expect(await vm.ipLink('mon0')).toBeUndefined()
      expect(JSON.parse((await vm.cli('list', '--json', '--netns', 'blue')).stdout)).toHaveLength(1)
      expect(JSON.parse((await vm.cli('list', '--json')).stdout)).toHaveLength(0)
      expect((await vm.cli('del', 'mon0', '--netns', 'blue')).exitCode).toBe(0)
      expect(await vm.ipLink('mon0', 'blue')).toBeUndefined()
    } finally {
      await vm.sh('ip netns del blue')
    }
  })

  test(
    '32 parallel adds give 32 distinct links; 32 parallel dels of one link give one success',
    async () => {
      const adds = await vm.sh(
        `for i in $(seq 1 32); do (node ${vm.cliPath()} add > /tmp/add.$i 2>&1; echo $? >> /tmp/add.$i) & done; wait; cat /tmp/add.*; rm -f /tmp/add.*`,
        600_000,
      )
      const lines = adds.stdout.trim().split('\n')
      const names = lines.filter((_, i) => i % 2 === 0)
      const codes = lines.filter((_, i) => i % 2 === 1)
      expect(codes).toEqual(Array(32).fill('0'))
      expect(new Set(names).size).toBe(32)
      const ipNames = (await vm.ipLinks()).filter((l) => l.linkinfo?.info_kind === 'nlmon').map((l) => l.ifname)
      expect(ipNames.sort()).toEqual([...names].sort())

      const dels = await vm.sh(
        `for i in $(seq 1 32); do (node ${vm.cliPath()} del nlmon0 >/dev/null 2>&1; echo $?) & done; wait`,
        600_000,
      )
      const delCodes = dels.stdout.trim().split('\n').sort()
      expect(delCodes.filter((c) => c === '0')).toHaveLength(1)
      expect(delCodes.filter((c) => c === '3')).toHaveLength(31)

      const tolerant = await vm.sh(
        `for i in $(seq 1 32); do (node ${vm.cliPath()} del nlmon1 --if-exists >/dev/null 2>&1; echo $?) & done; wait`,
        600_000,
      )
      expect(tolerant.stdout.trim().split('\n')).toEqual(Array(32).fill('0'))
    },
    testLimit(15 * 60_000),
  )

  test('without CAP_NET_ADMIN writes fail with the permission code and hint; list and stats still work', async () => {
    await vm.cli('add', 'p0')
    const before = shape(await vm.ipLinks())
    const drop = 'setpriv --inh-caps=-net_admin --bounding-set=-net_admin --'
    for (const args of [
      ['add', 'p1'],
      ['set', 'p0', '--mtu', '2000'],
      ['del', 'p0'],
    ]) {
      const run = await vm.sh(`${drop} node ${vm.cliPath()} ${args.map(q).join(' ')}`)
      expect([args, run.exitCode]).toEqual([args, 6])
      expect(run.stderr).toMatch(/CAP_NET_ADMIN/)
    }
    for (const args of [
      ['list', '--json'],
      ['stats', '--json'],
    ]) {
      const run = await vm.sh(`${drop} node ${vm.cliPath()} ${args.map(q).join(' ')}`)
      expect(run.exitCode).toBe(0)
      expect(JSON.parse(run.stdout)[0].ifname).toBe('p0')
    }
    expect(shape(await vm.ipLinks())).toEqual(before)
  })
})

function pick(stats: NonNullable<IpLink['stats64']>) {
  const keep = (side: Record<string, number>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, side[k]]))
  return {
    rx: keep(stats.rx, ['bytes', 'packets', 'errors', 'dropped', 'over_errors', 'multicast']),
    tx: keep(stats.tx, ['bytes', 'packets', 'errors', 'dropped', 'carrier_errors', 'collisions']),
  }
}
