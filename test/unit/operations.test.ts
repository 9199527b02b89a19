// The link requests of capture, trace and prune go through a LinkApi like add/del/set/list/stats:
// here a fake one, recording every request, over an in-memory link table.
import { fromNative, NlmonctlError } from '../../src/core/errors.js'
import type { LinkApi, LinkBackend } from '../../src/core/link-api.js'
import { isUp, linkKind, type IpLink } from '../../src/core/ip-link.js'
import type { LinkRef } from '../../src/core/native.js'
import { acquireCaptureLink, preparePrune, prepareStats, releaseCaptureLink } from '../../src/core/operations.js'

const link = (ifindex: number, ifname: string, kind?: string, over: Partial<IpLink> = {}): IpLink => ({
  ifindex,
  ifname,
  flags: ['NOARP'],
  mtu: 3776,
  operstate: 'DOWN',
  linkmode: 'DEFAULT',
  group: 'default',
  txqlen: 1000,
  link_type: 'netlink',
  ...(kind === undefined ? {} : { linkinfo: { info_kind: kind } }),
  ...over,
})
const withUp = (l: IpLink, up: boolean): string[] => [...l.flags.filter((f) => f !== 'UP'), ...(up ? ['UP'] : [])]

/** What the native layer rejects with: the JSON message fromNative() parses. */
const rejection = (info: Record<string, unknown>) => new Error(JSON.stringify(info))

function fakeApi(links: IpLink[], netns?: string) {
  const requests: string[] = []
  const find = (ref: LinkRef) =>
    links.find((l) => (ref.index === undefined ? l.ifname === ref.name : l.ifindex === ref.index))
  const need = (ref: LinkRef) => {
    const found = find(ref)
    if (!found) throw rejection({ code: 'ENODEV', errno: 19, message: 'No such device' })
    return found
  }
  const checkKind = (l: IpLink, kind: string | null) => {
    if (kind !== null && linkKind(l) !== kind)
      throw rejection({ code: 'EKIND', message: 'x', ifname: l.ifname, kind: linkKind(l) ?? null })
  }
  const backend: LinkBackend = {
    createLink(req) {
      requests.push(`create ${req.name} alias=${req.alias} up=${req.up}`)
      const created = link(100 + links.length, (req.name ?? 'nlmon%d').replace('%d', '0'), req.kind, {
        ifalias: req.alias,
        flags: req.up ? ['NOARP', 'UP'] : ['NOARP'],
      })
      links.push(created)
      return created
    },
    getLink(ref) {
      requests.push(`get ${JSON.stringify(ref)}`)
      return need(ref)
    },
    listLinks(kind) {
      requests.push(`list ${kind}`)
      return links.filter((l) => kind === null || linkKind(l) === kind)
    },
    deleteLink(ref, kind) {
      requests.push(`delete ${JSON.stringify(ref)} ${kind}`)
      const victim = need(ref)
      checkKind(victim, kind)
      links.splice(links.indexOf(victim), 1)
      return victim
    },
    setLink(ref, change, kind) {
      requests.push(`set ${JSON.stringify(ref)} ${JSON.stringify(change)} ${kind}`)
      const target = need(ref)
      checkKind(target, kind)
      if (change.up !== undefined) target.flags = withUp(target, change.up)
      return target
    },
  }
  const api: LinkApi = {
    netns,
    async call(ctx, fn) {
      try {
        return await fn(backend)
      } catch (error) {
        throw fromNative(error, ctx)
      }
    },
  }
  return { api, requests, links }
}

describe('capture links', () => {
  test('a DOWN nlmon link is brought UP for the capture and taken DOWN after, by ifindex', async () => {
    const { api, requests, links } = fakeApi([link(5, 'mon0', 'nlmon')])
    const held = await acquireCaptureLink(api, 'mon0')
    expect(held).toMatchObject({ ephemeral: false, broughtUp: true, link: { ifindex: 5 } })
    expect(isUp(links[0])).toBe(true)
    await releaseCaptureLink(api, held)
    expect(isUp(links[0])).toBe(false)
    expect(requests).toEqual([
      'get {"name":"mon0"}',
      'set {"index":5} {"up":true} nlmon',
      'set {"index":5} {"up":false} nlmon',
    ])
  })

  test('an UP nlmon link (named by ifindex) is left as it is', async () => {
    const { api, requests } = fakeApi([link(5, 'mon0', 'nlmon', { flags: ['NOARP', 'UP'] })])
    const held = await acquireCaptureLink(api, '5')
    expect(held.broughtUp).toBe(false)
    await releaseCaptureLink(api, held)
    expect(requests).toEqual(['get {"index":5}'])
  })

  test('a link of another kind is refused before anything changes', async () => {
    const { api, requests } = fakeApi([link(2, 'veth-a', 'veth'), link(1, 'lo')])
    await expect(acquireCaptureLink(api, 'veth-a')).rejects.toThrow(
      new NlmonctlError('NOT_NLMON', 'link "veth-a" is not an nlmon link (kind: veth); refusing to capture on it'),
    )
    await expect(acquireCaptureLink(api, '1')).rejects.toMatchObject({
      code: 'NOT_NLMON',
      message: 'link "1" is not an nlmon link (kind: none); refusing to capture on it',
    })
    expect(requests).toEqual(['get {"name":"veth-a"}', 'get {"index":1}'])
  })

  test('a missing link is NOT_FOUND, named with its namespace', async () => {
    const { api } = fakeApi([], 'blue')
    await expect(acquireCaptureLink(api, 'ghost0')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'link "ghost0" in network namespace "blue" not found',
    })
  })

  test('without --link: an ephemeral UP link marked with our pid, removed by ifindex after (gone already is fine)', async () => {
    const { api, requests, links } = fakeApi([])
    const held = await acquireCaptureLink(api, undefined)
    expect(held).toMatchObject({ ephemeral: true, broughtUp: false })
    expect(requests[0]).toMatch(
      new RegExp(`^create nlmonctl%d alias=nlmonctl-ephemeral pid=${process.pid} start=[0-9]+ up=true$`),
    )
    await releaseCaptureLink(api, held)
    expect(links).toEqual([])
    await releaseCaptureLink(api, held) // already gone: NOT_FOUND is swallowed
    expect(requests.slice(1)).toEqual([
      `delete {"index":${held.link.ifindex}} nlmon`,
      `delete {"index":${held.link.ifindex}} nlmon`,
    ])
  })
})

describe('prune', () => {
  test('removes the nlmon links of dead owners only, and prints their names', async () => {
    const dead = 'nlmonctl-ephemeral pid=4194311 start=1'
    const { api, requests, links } = fakeApi([
      link(3, 'nlmonctl0', 'nlmon', { ifalias: dead }),
      link(4, 'nlmonctl1', 'nlmon', { ifalias: `nlmonctl-ephemeral pid=${process.pid}` }), // alive: ours
      link(5, 'mon0', 'nlmon', { ifalias: 'user alias' }),
      link(6, 'dm0', 'dummy', { ifalias: dead }), // not nlmon: never touched
    ])
    const outcome = await preparePrune().run(api)
    expect(outcome.text).toBe('nlmonctl0')
    expect((outcome.json as Array<{ ifname: string }>).map((l) => l.ifname)).toEqual(['nlmonctl0'])
    expect(links.map((l) => l.ifname)).toEqual(['nlmonctl1', 'mon0', 'dm0'])
    expect(requests).toEqual(['list nlmon', 'delete {"index":3} nlmon'])
  })

  test('nothing to prune: no output', async () => {
    const { api } = fakeApi([link(5, 'mon0', 'nlmon')])
    expect(await preparePrune().run(api)).toEqual({ json: [], text: '' })
  })
})

describe('stats: prepareStats() owns every check, for the command and a batch line alike', () => {
  test.each([
    [{ interval: '0' }, /^invalid --interval "0": must be 0.1 to 3600 seconds$/],
    [{ interval: '3600.5', watch: true }, /^invalid --interval "3600.5"/],
    [{ interval: 'soon' }, /^invalid --interval "soon"/],
    [{ watch: true, count: '0' }, /^invalid --count "0": must be a whole number of at least 1$/],
    [{ watch: true, count: '1.5' }, /^invalid --count "1.5"/],
    [{ watch: true, count: '1e3' }, /^invalid --count "1e3"/],
    [{ watch: true, count: ' 2' }, /^invalid --count " 2"/],
    [{ watch: true, count: 'Infinity' }, /^invalid --count "Infinity"/],
    [{ interval: '1e0' }, /^invalid --interval "1e0"/],
    [{ interval: '0b1' }, /^invalid --interval "0b1"/],
    [{ count: '2' }, /^--count goes with --watch$/],
  ])('%j is refused', (flags, message) => {
    expect(() => prepareStats([], { interval: '1', ...flags })).toThrow(message)
  })

  test('link arguments are checked first', () => {
    expect(() => prepareStats(['a:b'], { interval: '0' })).toThrow(/^invalid link "a:b"/)
  })

  test('--watch parameters; none without --watch', () => {
    expect(prepareStats([], { interval: '1' }).watch).toBeUndefined()
    expect(prepareStats([], {}).watch).toBeUndefined()
    expect(prepareStats(['mon0'], { interval: '0.5', watch: true }).watch).toEqual({ interval: 0.5, count: Infinity })
    expect(prepareStats([], { interval: '2', watch: true, count: '3' }).watch).toEqual({ interval: 2, count: 3 })
  })

  test('one dump: the named links must exist and be nlmon', async () => {
    const { api, requests } = fakeApi([link(1, 'lo'), link(5, 'mon0', 'nlmon'), link(6, 'mon1', 'nlmon')])
    const stats = prepareStats(['6', 'mon0'], {})
    expect((await stats.sample(api)).map((l) => l.ifname)).toEqual(['mon1', 'mon0'])
    expect((await stats.run(api)).table?.rows.map((l) => l.ifname)).toEqual(['mon1', 'mon0'])
    expect(requests).toEqual(['list null', 'list null'])
    await expect(prepareStats(['lo'], {}).run(api)).rejects.toMatchObject({
      code: 'NOT_NLMON',
      message: 'link "lo" is not an nlmon link (kind: none)',
    })
    await expect(prepareStats(['ghost0'], {}).run(api)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'link "ghost0" not found',
    })
    expect(await prepareStats([], {}).run(api)).toMatchObject({
      table: { rows: [{ ifname: 'mon0' }, { ifname: 'mon1' }] },
    })
  })
})
