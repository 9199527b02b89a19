// The CLI against this machine's real kernel, in throwaway network namespaces. This kernel has no nlmon
// driver (CONFIG_NLMON unset), so creating fails with its own code; tests that need a real nlmon link
// run in the guest kernels (test/kernel/).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { createNetns, type Netns } from '../helpers/netns.js'
import { expectOneLineError, nlmonctl } from '../helpers/cli.js'

const DROP_NET_ADMIN = ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', '--']

let ns: Netns
beforeAll(async () => {
  ns = await createNetns()
  await execa('ip', ['-n', ns.name, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b'])
  await execa('ip', ['-n', ns.name, 'link', 'add', 'br-x', 'type', 'bridge'])
})
afterAll(async () => ns?.remove())

const linkTable = async () =>
  (await ns.links()).map(({ ifindex, ifname, flags, mtu }) => ({ ifindex, ifname, flags, mtu }))

describe('a kernel without nlmon', () => {
  test('add fails with the no-nlmon code, the kernel text and a hint; nothing is created', async () => {
    const before = await linkTable()
    const result = await nlmonctl(['add', 'mon0'], { netns: ns.name })
    expect(result.exitCode).toBe(7)
    expect(result.stdout).toBe('')
    expectOneLineError(result, /no nlmon driver.*EOPNOTSUPP: Unknown device type.*CONFIG_NLMON.*modprobe nlmon/)
    expect(await linkTable()).toEqual(before)
  })

  test('same exit code under --json, with one error object', async () => {
    const result = await nlmonctl(['add', '--json'], { netns: ns.name })
    expect(result.exitCode).toBe(7)
    const body = JSON.parse(result.stdout)
    expect(body.error).toMatchObject({
      code: 'NO_NLMON_SUPPORT',
      exitCode: 7,
      errno: 'EOPNOTSUPP',
      kernelMessage: 'Unknown device type',
    })
  })

  test('list and stats: nothing, and [] as JSON', async () => {
    for (const command of ['list', 'stats']) {
      const text = await nlmonctl([command], { netns: ns.name })
      expect(text).toMatchObject({ exitCode: 0, stdout: '', stderr: '' })
      const json = await nlmonctl([command, '--json'], { netns: ns.name })
      expect(json.exitCode).toBe(0)
      expect(JSON.parse(json.stdout)).toEqual([])
    }
  })
})

describe('only nlmon links are touched', () => {
  test.each([
    ['lo', 'none'],
    ['veth-a', 'veth'],
    ['br-x', 'bridge'],
    ['1', 'none'],
  ])('del %s is refused naming kind %s, and the link stays', async (arg, kind) => {
    const before = await linkTable()
    const result = await nlmonctl(['del', arg], { netns: ns.name })
    expect(result.exitCode).toBe(5)
    expectOneLineError(result, new RegExp(`not an nlmon link \\(kind: ${kind}\\); refusing to delete`))
    expect(await linkTable()).toEqual(before)
  })

  test('one refused link among several means none is deleted', async () => {
    const before = await linkTable()
    const result = await nlmonctl(['del', 'veth-b', 'br-x'], { netns: ns.name })
    expect(result.exitCode).toBe(5)
    expect(await linkTable()).toEqual(before)
  })

  test('set and stats refuse non-nlmon links', async () => {
    const before = await linkTable()
    const set = await nlmonctl(['set', 'veth-a', '--mtu', '1400'], { netns: ns.name })
    expect(set.exitCode).toBe(5)
    expectOneLineError(set, /kind: veth/)
    const stats = await nlmonctl(['stats', 'lo'], { netns: ns.name })
    expect(stats.exitCode).toBe(5)
    expect(await linkTable()).toEqual(before)
  })

  test('add over a name another kind holds is "already exists", also with --if-not-exists', async () => {
    const plain = await nlmonctl(['add', 'veth-a'], { netns: ns.name })
    expect(plain.exitCode).toBe(4)
    expectOneLineError(plain, /already exists/)
    const idempotent = await nlmonctl(['add', 'veth-a', '--if-not-exists'], { netns: ns.name })
    expect(idempotent.exitCode).toBe(4)
    expectOneLineError(idempotent, /not an nlmon link \(kind: veth\)/)
  })
})

describe('missing links and namespaces', () => {
  test('del of a missing link: 3, or 0 with --if-exists', async () => {
    const missing = await nlmonctl(['del', 'ghost0'], { netns: ns.name })
    expect(missing.exitCode).toBe(3)
    expectOneLineError(missing, /link "ghost0" not found/)
    const tolerated = await nlmonctl(['del', 'ghost0', '--if-exists'], { netns: ns.name })
    expect(tolerated).toMatchObject({ exitCode: 0, stdout: '', stderr: '' })
    const json = await nlmonctl(['del', 'ghost0', '--if-exists', '--json'], { netns: ns.name })
    expect(JSON.parse(json.stdout)).toEqual([])
  })

  test('set and stats of a missing link: 3', async () => {
    expect((await nlmonctl(['set', 'ghost0', '--up'], { netns: ns.name })).exitCode).toBe(3)
    expect((await nlmonctl(['stats', 'ghost0'], { netns: ns.name })).exitCode).toBe(3)
  })

  test('--netns by name and by path reaches the namespace', async () => {
    const byName = await nlmonctl(['del', 'veth-a', '--netns', ns.name])
    expect(byName.exitCode).toBe(5) // found there, and refused: proof it looked in that namespace
    const holder = await ns.holder()
    try {
      const byPath = await nlmonctl(['list', '--json', '--netns', holder.nsPath])
      expect(byPath.exitCode).toBe(0)
      expect(JSON.parse(byPath.stdout)).toEqual([])
      const refused = await nlmonctl(['del', 'br-x', '--netns', holder.nsPath])
      expect(refused.exitCode).toBe(5)
    } finally {
      await holder.stop()
    }
  })

  test('a missing namespace: 8', async () => {
    const result = await nlmonctl(['list', '--netns', 'nlmonctl-no-such-ns'])
    expect(result.exitCode).toBe(8)
    expectOneLineError(result, /network namespace "nlmonctl-no-such-ns" not found/)
    const json = await nlmonctl(['list', '--json', '--netns', 'nlmonctl-no-such-ns'])
    expect(json.exitCode).toBe(8)
    expect(JSON.parse(json.stdout).error.code).toBe('NETNS_NOT_FOUND')
  })
})

describe('without CAP_NET_ADMIN', () => {
  test('add fails with the permission code and hint, and changes nothing', async () => {
    const before = await linkTable()
    const result = await nlmonctl(['add', 'mon0'], { netns: ns.name, wrap: DROP_NET_ADMIN })
    expect(result.exitCode).toBe(6)
    expectOneLineError(result, /permission denied.*EPERM.*CAP_NET_ADMIN/)
    expect(await linkTable()).toEqual(before)
  })

  test('list and stats still work', async () => {
    for (const command of ['list', 'stats']) {
      const result = await nlmonctl([command, '--json'], { netns: ns.name, wrap: DROP_NET_ADMIN })
      expect(result.exitCode).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual([])
    }
  })
})

describe('stats --watch', () => {
  test('prints one record per interval and exits 0 on SIGINT', async () => {
    const { execa } = await import('execa')
    const { BIN } = await import('../helpers/cli.js')
    const watch = execa(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, BIN, 'stats', '--watch', '--interval', '0.2', '--json'],
      {
        reject: false,
      },
    )
    // Interrupt once two records are out (each line is one interval), not after a fixed time.
    await new Promise<void>((resolve) => {
      let seen = ''
      watch.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString()
        if (seen.split('\n').length > 2) resolve()
      })
      void watch.then(() => resolve())
    })
    watch.kill('SIGINT')
    const result = await watch
    expect(result.exitCode).toBe(0)
    const records = String(result.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(records.length).toBeGreaterThanOrEqual(2)
    for (const record of records) expect(record).toMatchObject({ links: [], interval_sec: expect.any(Number) })
  })

  test('--count ends it by itself', async () => {
    const result = await nlmonctl(['stats', '--watch', '--interval', '0.1', '--count', '3', '--json'], {
      netns: ns.name,
    })
    expect(result.exitCode).toBe(0)
    expect(result.stdout.trim().split('\n')).toHaveLength(3)
  })
})

describe('the script verbs run without oclif (dist/lean.cjs) and print what the full CLI prints', () => {
  let home: string
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'nlmonctl-lean-host-'))
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  // Each verb's outcomes on this kernel: success, kernel refusals, missing links and namespaces, --json.
  const cases: string[][] = [
    ['add', 'mon0'],
    ['add', '--json'],
    ['add', 'veth-a'],
    ['add', 'veth-a', '--if-not-exists', '--json'],
    ['del', 'lo'],
    ['del', 'veth-a', '--json'],
    ['del', 'veth-b', 'br-x'],
    ['del', 'ghost0'],
    ['del', 'ghost0', '--if-exists', '--json'],
    ['del', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8', 'g9', '--if-exists'],
    ['del', '--all', '--json'],
    ['set', 'veth-a', '--mtu', '1400'],
    ['set', 'ghost0', '--up', '--json'],
    ['set', '1', '--alias', 'x'],
    ['list'],
    ['list', '--json'],
    ['list', '--netns', 'nlmonctl-no-such-ns'],
    ['list', '--json', '--netns', 'nlmonctl-no-such-ns'],
    ['list', '--json', '--netns', '/etc/hostname'],
    ['stats'],
    ['stats', '--json'],
    ['stats', '--json', '--interval', '2'],
    ['stats', 'lo'],
    ['stats', 'veth-a', 'br-x', '--json'],
    ['stats', 'ghost0', '--json'],
  ]

  let runs = 0
  const run = async (args: string[], env: Record<string, string>, wrap?: string[]) => {
    const cache = join(home, String(runs++))
    const result = await nlmonctl(args, { netns: ns.name, wrap, env: { XDG_CACHE_HOME: cache, HOME: home, ...env } })
    const bundles = new Set(readdirSync(join(cache, 'nlmonctl')).map((f) => f.split('-')[0]))
    return { result, bundles: [...bundles].sort() }
  }

  test.each(cases.map((args) => [args]))('%j', async (args) => {
    const before = await linkTable()
    const lean = await run(args, {})
    const full = await run(args, { NLMONCTL_FAST_PATH: '0' })
    expect(lean.result).toEqual(full.result)
    expect(lean.bundles).toEqual(['lean'])
    expect(full.bundles).toEqual(['code'])
    expect(await linkTable()).toEqual(before)
  })

  test('without CAP_NET_ADMIN too', async () => {
    const lean = await run(['add', 'mon0', '--json'], {}, DROP_NET_ADMIN)
    expect(lean.result.exitCode).toBe(6)
    expect(lean.result).toEqual(
      (await run(['add', 'mon0', '--json'], { NLMONCTL_FAST_PATH: '0' }, DROP_NET_ADMIN)).result,
    )
  })

  test('stats --watch is left to the full CLI', async () => {
    const watch = await run(['stats', '--watch', '--interval', '0.1', '--count', '1', '--json'], {})
    expect(watch.result.exitCode).toBe(0)
    expect(JSON.parse(watch.result.stdout)).toMatchObject({ links: [] })
    expect(watch.bundles).toEqual(['code', 'lean'])
  })
})
