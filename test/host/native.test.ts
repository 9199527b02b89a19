// The native addon (native/index.js) against this machine's real kernel, always inside throwaway
// network namespaces. This kernel has no nlmon driver but has bridge, veth and ifb; the host's own
// namespace is only ever read.
//
// Every link call answers with the link(s) as JSON bytes in the shape of `ip -j -s -d link show`;
// each answer is cross-checked against iproute2's own `ip -j -s -d link show` in the same namespace.
import { readdirSync, readlinkSync, statSync } from 'node:fs'
import { execa } from 'execa'
import { createNetns, type Netns } from '../helpers/netns.js'
import type { IpLink as Link } from '../../src/core/ip-link.js'
import {
  createLink,
  deleteLink,
  getLink,
  listLinks as listLinksBytes,
  setLink,
  type Target,
} from '../../native/index.js'

const HOST_NETNS = readlinkSync('/proc/self/ns/net')

/** The bytes a native call resolves to: UTF-8 JSON in a Buffer, no trailing newline. */
function parsed<T>(bytes: Buffer): T {
  expect(Buffer.isBuffer(bytes)).toBe(true)
  const text = bytes.toString('utf8')
  expect(text.endsWith('\n')).toBe(false)
  expect(Buffer.from(text, 'utf8').equals(bytes)).toBe(true)
  return JSON.parse(text) as T
}
const one = async (call: Promise<Buffer>): Promise<Link> => parsed<Link>(await call)
const listLinks = async (kind?: string | null, target?: Target): Promise<Link[]> =>
  parsed<Link[]>(await listLinksBytes(kind, target))

type NativeError = Record<string, unknown> & { code: string }

/** The JSON object a rejected call carries in its message. */
async function rejection(promise: Promise<unknown>): Promise<NativeError> {
  let value: unknown
  try {
    value = await promise
  } catch (error) {
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    return JSON.parse(message) as NativeError
  }
  throw new Error(`expected a rejection, got ${String(value)}`)
}

type IpLink = Record<string, unknown> & { ifindex: number; ifname: string }

async function ipLinks(ns: Netns): Promise<IpLink[]> {
  return (await ns.links()) as IpLink[]
}

async function ipLink(ns: Netns, name: string): Promise<IpLink> {
  const found = (await ipLinks(ns)).find((l) => l.ifname === name)
  if (!found) throw new Error(`ip does not show ${name}`)
  return found
}

async function ip(ns: Netns, args: string[]): Promise<void> {
  await execa('ip', ['-n', ns.name, ...args])
}

/**
 * What a link must agree on with iproute2's view of it: every key both print. Counters move between
 * two reads, so stats64 is compared by its rx/tx keys (in order). M-DOWN is iproute2's note that
 * the IFLA_LINK peer is down, printed among the flags but not a flag of this link.
 */
function comparable(link: Record<string, unknown>): Record<string, unknown> {
  const stats = link.stats64 as { rx?: object; tx?: object } | undefined
  return {
    ifindex: link.ifindex,
    ifname: link.ifname,
    flags: ((link.flags as string[] | undefined) ?? []).filter((f) => f !== 'M-DOWN'),
    mtu: link.mtu,
    qdisc: link.qdisc,
    operstate: link.operstate,
    linkmode: link.linkmode,
    group: link.group,
    txqlen: link.txqlen,
    link_type: link.link_type,
    ifalias: link.ifalias,
    min_mtu: link.min_mtu,
    max_mtu: link.max_mtu,
    info_kind: (link.linkinfo as { info_kind?: string } | undefined)?.info_kind,
    stats64: stats && { rx: Object.keys(stats.rx ?? {}), tx: Object.keys(stats.tx ?? {}) },
  }
}

/** Each of `links` is what `ip -j -s -d link show` in `ns` says of the link with its ifindex. */
async function expectAsIpShows(ns: Netns, links: Link[]): Promise<void> {
  const theirs = await ipLinks(ns)
  for (const link of links) {
    const other = theirs.find((l) => l.ifindex === link.ifindex)
    expect([link.ifname, other && comparable(other)]).toEqual([
      link.ifname,
      comparable(link as unknown as Record<string, unknown>),
    ])
  }
}

/** The answer of one call, cross-checked with ip. */
async function checked(ns: Netns, call: Promise<Buffer>): Promise<Link> {
  const link = await one(call)
  await expectAsIpShows(ns, [link])
  return link
}

const names = (links: Link[]): string[] => links.map((l) => l.ifname).sort()
const withoutCounters = (link: Link): unknown => comparable(link as unknown as Record<string, unknown>)

describe('listing and reading links', () => {
  let ns: Netns
  let target: Target
  beforeAll(async () => {
    ns = await createNetns()
    target = { netns: ns.name }
    await ip(ns, ['link', 'add', 'vx0', 'type', 'veth', 'peer', 'name', 'vx1'])
    await ip(ns, ['link', 'add', 'brl', 'type', 'bridge'])
    await ip(ns, ['link', 'set', 'brl', 'mtu', '1400', 'txqlen', '77', 'group', '9', 'up'])
  })
  afterAll(async () => ns?.remove())

  test('lo: ifindex 1, no kind, ARPHRD_LOOPBACK', async () => {
    const lo = (await listLinks(null, target)).find((l) => l.ifname === 'lo')
    expect(lo).toBeDefined()
    expect(lo?.ifindex).toBe(1)
    expect(lo?.linkinfo).toBeUndefined()
    expect(lo?.link_type).toBe('loopback')
    expect(lo?.flags).toContain('LOOPBACK')
  })

  test("listLinks' elements are getLink's answers (same keys in the same order, absent = absent)", async () => {
    for (const link of await listLinks(null, target)) {
      const single = await one(getLink({ index: link.ifindex }, target))
      // counters may move between the two calls; everything else is identical, key for key
      expect(withoutCounters(single)).toEqual(withoutCounters(link))
      expect(Object.keys(single)).toEqual(Object.keys(link))
    }
  })

  test('every link agrees with ip -j -s -d link show, in the same order', async () => {
    await ip(ns, ['link', 'set', 'vx0', 'alias', 'quote " backslash \\ tab \t ü'])
    const mine = await listLinks(undefined, target)
    const theirs = await ipLinks(ns)
    expect(mine.map((l) => l.ifindex)).toEqual(theirs.map((l) => l.ifindex))
    await expectAsIpShows(ns, mine)
    expect(mine.find((l) => l.ifname === 'brl')).toMatchObject({
      linkinfo: { info_kind: 'bridge' },
      mtu: 1400,
      txqlen: 77,
      group: '9',
    })
    expect(mine.find((l) => l.ifname === 'vx0')).toMatchObject({
      linkinfo: { info_kind: 'veth' },
      ifalias: 'quote " backslash \\ tab \t ü',
    })
  })

  test('kind filter', async () => {
    const veths = await listLinks('veth', target)
    expect(names(veths)).toEqual(['vx0', 'vx1'])
    await expectAsIpShows(ns, veths)
    expect(names(await listLinks('bridge', target))).toEqual(['brl'])
    // The kernel cannot filter by a kind it has no driver for; userspace still does.
    expect(await listLinks('nlmon', target)).toEqual([])
    expect((await listLinksBytes('nlmon', target)).toString()).toBe('[]')
  })

  test('getLink by name and by index', async () => {
    const byName = await checked(ns, getLink({ name: 'brl' }, target))
    expect(byName).toMatchObject({ ifname: 'brl', linkinfo: { info_kind: 'bridge' }, mtu: 1400 })
    const byIndex = await checked(ns, getLink({ index: byName.ifindex }, target))
    expect(byIndex.ifname).toBe('brl')
    expect(byIndex.ifindex).toBe((await ipLink(ns, 'brl')).ifindex)
    expect((await rejection(getLink({ name: 'nope0' }, target))).code).toBe('ENODEV')
    expect((await rejection(getLink({ index: 999999 }, target))).code).toBe('ENODEV')
  })

  test('a LinkRef needs exactly one of name and index', async () => {
    expect((await rejection(getLink({ name: 'lo', index: 1 }, target))).code).toBe('EARG')
    expect((await rejection(getLink({}, target))).code).toBe('EARG')
    expect((await rejection(getLink({ index: -1 }, target))).code).toBe('EARG')
    expect((await rejection(setLink({ name: 'brl' }, { mtu: 2 ** 32 }, 'bridge', target))).code).toBe('EARG')
  })

  test("stats64 is present, with ip -s's keys, exact integers; counters match ip -s", async () => {
    await execa('ip', ['netns', 'exec', ns.name, 'ip', 'link', 'set', 'lo', 'up'])
    const send =
      'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 10, ("127.0.0.1", 9)) for _ in range(3)]'
    await execa('ip', ['netns', 'exec', ns.name, 'python3', '-c', send])
    const lo = await checked(ns, getLink({ name: 'lo' }, target))
    const stats = lo.stats64
    expect(stats).toBeDefined()
    expect(Object.keys(stats?.rx ?? {})).toEqual(['bytes', 'packets', 'errors', 'dropped', 'over_errors', 'multicast'])
    expect(Object.keys(stats?.tx ?? {})).toEqual([
      'bytes',
      'packets',
      'errors',
      'dropped',
      'carrier_errors',
      'collisions',
    ])
    for (const value of [...Object.values(stats?.rx ?? {}), ...Object.values(stats?.tx ?? {})]) {
      expect(Number.isInteger(value)).toBe(true)
      expect(value).toBeGreaterThanOrEqual(0)
    }
    expect(stats?.rx.packets).toBeGreaterThan(0)
    expect(stats?.tx.bytes).toBe(stats?.rx.bytes)
    const theirs = (await ipLink(ns, 'lo')).stats64 as { rx: { packets: number } }
    expect(theirs.rx.packets).toBeGreaterThanOrEqual(stats?.rx.packets ?? Infinity)
  })

  test('netns by /proc/PID/ns/net path', async () => {
    const sleeper = execa('ip', ['netns', 'exec', ns.name, 'sleep', '30'], { reject: false })
    try {
      const pid = sleeper.pid
      expect(pid).toBeDefined()
      const want = `net:[${statSync(`/run/netns/${ns.name}`).ino}]`
      const path = `/proc/${pid}/ns/net`
      for (let i = 0; i < 200 && readlinkSync(path) !== want; i++) await new Promise((r) => setTimeout(r, 10))
      expect(readlinkSync(path)).toBe(want)
      const viaPath = await listLinks(null, { netns: path })
      expect(names(viaPath)).toEqual(names(await listLinks(null, target)))
      expect(names(viaPath)).toContain('brl')
    } finally {
      sleeper.kill()
      await sleeper
    }
  })

  test('a missing namespace is ENETNS', async () => {
    const err = await rejection(listLinks(null, { netns: `${ns.name}-missing` }))
    expect(err).toMatchObject({ code: 'ENETNS', errno: 2, netns: `${ns.name}-missing` })
    const notNs = await rejection(listLinks(null, { netns: '/dev/null' }))
    expect(notNs).toMatchObject({ code: 'ENETNS', errno: 22 })
    expect((await rejection(getLink({ name: 'lo' }, { netns: '/nonexistent/ns' }))).code).toBe('ENETNS')
  })

  test('the JS thread and the libuv workers stay in the host namespace', async () => {
    // Many namespace operations, more than the libuv pool has threads.
    await Promise.all(Array.from({ length: 12 }, () => listLinks(null, target)))
    const host = await listLinks()
    const { stdout } = await execa('ip', ['-j', 'link', 'show'])
    const hostIp = JSON.parse(stdout) as IpLink[]
    expect(host.map((l) => [l.ifindex, l.ifname])).toEqual(hostIp.map((l) => [l.ifindex, l.ifname]))
    expect(host.some((l) => l.ifname === 'brl')).toBe(false)
    // Every thread of this process (JS thread, libuv pool) is still in the namespace it started in.
    const threads = readdirSync('/proc/self/task')
    expect(threads.length).toBeGreaterThan(1)
    for (const tid of threads) expect(readlinkSync(`/proc/self/task/${tid}/ns/net`)).toBe(HOST_NETNS)
  })
})

describe('createLink', () => {
  let ns: Netns
  let target: Target
  beforeEach(async () => {
    ns = await createNetns()
    target = { netns: ns.name }
  })
  afterEach(async () => ns?.remove())

  test('nlmon on a kernel without the driver: EOPNOTSUPP "Unknown device type", nothing changes', async () => {
    const before = await ipLinks(ns)
    const err = await rejection(createLink({ kind: 'nlmon' }, target))
    expect(err).toMatchObject({ code: 'EOPNOTSUPP', errno: 95, extack: 'Unknown device type', op: 'RTM_NEWLINK' })
    expect(err.message).toBe('Operation not supported')
    expect((await rejection(createLink({}, target))).code).toBe('EOPNOTSUPP') // default kind is nlmon
    expect(await ipLinks(ns)).toEqual(before)
  })

  test('patterns and default names expand like the kernel', async () => {
    expect((await checked(ns, createLink({ kind: 'bridge', name: 'br%d' }, target))).ifname).toBe('br0')
    expect((await checked(ns, createLink({ kind: 'bridge', name: 'br%d' }, target))).ifname).toBe('br1')
    const bridge0 = await checked(ns, createLink({ kind: 'bridge' }, target))
    expect(bridge0).toMatchObject({ ifname: 'bridge0', linkinfo: { info_kind: 'bridge' } })
    expect((await ipLink(ns, 'bridge0')).ifindex).toBe(bridge0.ifindex)
    await ip(ns, ['link', 'del', 'br0'])
    expect((await checked(ns, createLink({ kind: 'bridge', name: 'br%d' }, target))).ifname).toBe('br0') // lowest free
    expect((await checked(ns, createLink({ kind: 'bridge', name: 'x%dy' }, target))).ifname).toBe('x0y')
  })

  test('other names are sent verbatim for the kernel to judge', async () => {
    expect((await rejection(createLink({ kind: 'bridge', name: 'a%s' }, target))).code).toBe('EINVAL')
    expect((await rejection(createLink({ kind: 'bridge', name: 'x'.repeat(16) }, target))).code).toBe('ERANGE')
    const fifteen = await checked(ns, createLink({ kind: 'bridge', name: 'y'.repeat(15) }, target))
    expect(fifteen.ifname).toBe('y'.repeat(15))
    expect((await rejection(createLink({ kind: 'bridge', name: 'y'.repeat(15) }, target))).code).toBe('EEXIST')
    const mtu = await rejection(createLink({ kind: 'bridge', name: 'bm', mtu: 2 ** 31 }, target))
    expect(mtu.code).toBe('EINVAL')
    expect(mtu.extack).toMatch(/mtu/)
    expect((await ipLinks(ns)).map((l) => l.ifname).sort()).toEqual(['lo', 'y'.repeat(15)])
  })

  test('attributes at creation, alias set afterwards; cross-checked with ip', async () => {
    const made = await checked(
      ns,
      createLink(
        {
          kind: 'bridge',
          name: 'bra',
          alias: 'an alias',
          mtu: 1450,
          txqlen: 12,
          group: 4,
          up: true,
          address: Buffer.from([2, 0, 0, 0, 0, 7]),
        },
        target,
      ),
    )
    expect(made).toMatchObject({ ifname: 'bra', ifalias: 'an alias', mtu: 1450, txqlen: 12, group: '4' })
    expect(made.flags).toContain('UP')
    const shown = await ipLink(ns, 'bra')
    expect(shown).toMatchObject({
      ifalias: 'an alias',
      mtu: 1450,
      txqlen: 12,
      group: '4',
      address: '02:00:00:00:00:07',
    })
    expect(shown.flags).toContain('UP')
  })

  test('a failing alias rolls the creation back', async () => {
    const before = await ipLinks(ns)
    const err = await rejection(createLink({ kind: 'bridge', name: 'brz', alias: 'a'.repeat(300) }, target))
    expect(['EINVAL', 'ERANGE']).toContain(err.code)
    expect(err.op).toBe('RTM_SETLINK')
    expect(await ipLinks(ns)).toEqual(before)
    // The longest alias the kernel takes (IFALIASZ - 1) goes through.
    expect(
      (await checked(ns, createLink({ kind: 'bridge', name: 'bry', alias: 'b'.repeat(255) }, target))).ifalias,
    ).toBe('b'.repeat(255))
  })

  test('16 concurrent creations get 16 distinct names', async () => {
    const made = await Promise.all(Array.from({ length: 16 }, () => one(createLink({ kind: 'bridge' }, target))))
    const got = names(made)
    await expectAsIpShows(ns, made)
    expect(new Set(got).size).toBe(16)
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => `bridge${i}`).sort())
    expect(names(await listLinks('bridge', target))).toEqual(got)
  })
})

describe('deleteLink', () => {
  let ns: Netns
  let target: Target
  beforeAll(async () => {
    ns = await createNetns()
    target = { netns: ns.name }
    await ip(ns, ['link', 'add', 've0', 'type', 'veth', 'peer', 'name', 've1'])
  })
  afterAll(async () => ns?.remove())

  test('lo is not nlmon: EKIND with kind null, lo intact', async () => {
    const err = await rejection(deleteLink({ name: 'lo' }, 'nlmon', target))
    expect(err).toMatchObject({ code: 'EKIND', ifname: 'lo', ifindex: 1, kind: null })
    expect((await ipLink(ns, 'lo')).ifindex).toBe(1)
  })

  test('a veth is not nlmon: EKIND with kind veth, link intact', async () => {
    const ve0 = await ipLink(ns, 've0')
    const err = await rejection(deleteLink({ index: ve0.ifindex }, 'nlmon', target))
    expect(err).toMatchObject({ code: 'EKIND', ifname: 've0', ifindex: ve0.ifindex, kind: 'veth' })
    expect((await ipLink(ns, 've0')).ifindex).toBe(ve0.ifindex)
  })

  test('a missing link is ENODEV', async () => {
    expect(await rejection(deleteLink({ name: 'gone0' }, 'nlmon', target))).toMatchObject({ code: 'ENODEV', errno: 19 })
    expect((await rejection(deleteLink({ name: 'gone0' }, null, target))).code).toBe('ENODEV')
  })

  test('deletes a link of the expected kind and returns it as it was', async () => {
    const made = await checked(ns, createLink({ kind: 'bridge', name: 'brd', alias: 'bye' }, target))
    const before = await ipLink(ns, 'brd')
    const gone = await one(deleteLink({ name: 'brd' }, 'bridge', target))
    expect(gone).toMatchObject({
      ifindex: made.ifindex,
      ifname: 'brd',
      linkinfo: { info_kind: 'bridge' },
      ifalias: 'bye',
    })
    // as ip showed it just before
    expect(comparable(gone as unknown as Record<string, unknown>)).toEqual(comparable(before))
    expect((await ipLinks(ns)).some((l) => l.ifname === 'brd')).toBe(false)
  })

  test('without expectKind any link is deleted', async () => {
    await deleteLink({ name: 've1' }, undefined, target)
    expect((await ipLinks(ns)).map((l) => l.ifname)).toEqual(['lo'])
  })

  test('a concurrent delete race has exactly one winner', async () => {
    for (let round = 0; round < 3; round++) {
      const made = await one(createLink({ kind: 'bridge', name: 'race%d' }, target))
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => deleteLink({ name: made.ifname }, 'bridge', target)),
      )
      const won = results.filter((r) => r.status === 'fulfilled')
      expect(won).toHaveLength(1)
      for (const lost of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(JSON.parse((lost.reason as Error).message).code).toBe('ENODEV')
      }
      expect((await ipLinks(ns)).some((l) => l.ifname === made.ifname)).toBe(false)
    }
  })
})

describe('setLink', () => {
  let ns: Netns
  let target: Target
  beforeAll(async () => {
    ns = await createNetns()
    target = { netns: ns.name }
    await createLink({ kind: 'bridge', name: 'brs' }, target)
    await ip(ns, ['link', 'add', 'vs0', 'type', 'veth', 'peer', 'name', 'vs1'])
  })
  afterAll(async () => ns?.remove())

  test('mtu, txqlen, group, alias', async () => {
    const got = await checked(
      ns,
      setLink({ name: 'brs' }, { mtu: 1300, txqlen: 33, group: 7, alias: 'set by test' }, 'bridge', target),
    )
    expect(got).toMatchObject({ ifname: 'brs', mtu: 1300, txqlen: 33, group: '7', ifalias: 'set by test' })
    expect(await ipLink(ns, 'brs')).toMatchObject({ mtu: 1300, txqlen: 33, group: '7', ifalias: 'set by test' })
  })

  test('an empty alias clears it', async () => {
    const got = await checked(ns, setLink({ name: 'brs' }, { alias: '' }, 'bridge', target))
    expect(got.ifalias).toBeUndefined()
    expect((await ipLink(ns, 'brs')).ifalias).toBeUndefined()
  })

  test('up and down', async () => {
    const up = await checked(ns, setLink({ name: 'brs' }, { up: true }, 'bridge', target))
    expect(up.flags).toContain('UP')
    const down = await checked(ns, setLink({ name: 'brs' }, { up: false }, 'bridge', target))
    expect(down.flags).not.toContain('UP')
  })

  test('rename while going down, and rename while going up', async () => {
    await setLink({ name: 'brs' }, { up: true }, 'bridge', target)
    const before = await ipLink(ns, 'brs')
    const renamed = await checked(ns, setLink({ name: 'brs' }, { up: false, name: 'brs2' }, 'bridge', target))
    expect(renamed).toMatchObject({ ifname: 'brs2', ifindex: before.ifindex })
    expect(renamed.flags).not.toContain('UP')
    const shown = await ipLink(ns, 'brs2')
    expect(shown.ifindex).toBe(before.ifindex)
    expect(shown.flags).not.toContain('UP')
    const back = await checked(ns, setLink({ index: before.ifindex }, { up: true, name: 'brs' }, 'bridge', target))
    expect(back.ifname).toBe('brs')
    expect(back.flags).toContain('UP')
    expect((await ipLink(ns, 'brs')).flags).toContain('UP')
  })

  test('a failed rename after the separate DOWN restores UP', async () => {
    await setLink({ name: 'brs' }, { up: true }, 'bridge', target)
    const err = await rejection(setLink({ name: 'brs' }, { up: false, name: 'z'.repeat(16) }, 'bridge', target))
    expect(err).toMatchObject({ code: 'ERANGE', op: 'RTM_SETLINK' })
    const shown = await ipLink(ns, 'brs')
    expect(shown.flags).toContain('UP')
  })

  test('kernel verdicts pass through: mtu below the minimum', async () => {
    const err = await rejection(setLink({ name: 'brs' }, { mtu: 10 }, 'bridge', target))
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, op: 'RTM_SETLINK' })
    expect(String(err.extack)).toMatch(/mtu/)
    expect((await ipLink(ns, 'brs')).mtu).toBe(1300)
  })

  test('the kind is checked before anything is changed', async () => {
    const err = await rejection(setLink({ name: 'vs0' }, { mtu: 1280, up: true }, 'bridge', target))
    expect(err).toMatchObject({ code: 'EKIND', ifname: 'vs0', kind: 'veth', expectKind: 'bridge' })
    const shown = await ipLink(ns, 'vs0')
    expect(shown.mtu).toBe(1500)
    expect(shown.flags).not.toContain('UP')
    expect((await rejection(setLink({ name: 'lo' }, { mtu: 1280 }, 'nlmon', target))).kind).toBeNull()
  })
})
