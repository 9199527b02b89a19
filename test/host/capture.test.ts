// capture and trace refuse what needs no kernel before any link request: on this kernel (no nlmon)
// creating the ephemeral link answers exit 7, so an exit 2 proves that nothing was asked of the
// kernel first. Inside a throwaway namespace, so a kernel that has nlmon would not see a link come
// and go in the host's. And the --family names checked in TypeScript give the native side's verdicts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { knownFamily } from '../../src/core/capture.js'
import { createNetns, type Netns } from '../helpers/netns.js'
import { expectOneLineError, nlmonctl, ROOT } from '../helpers/cli.js'

let ns: Netns
let dir: string
beforeAll(async () => {
  ns = await createNetns()
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-capture-'))
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await ns?.remove()
})

const linkTable = async () => (await ns.links()).map(({ ifindex, ifname, flags }) => ({ ifindex, ifname, flags }))

describe('refused before any link is created (exit 2, not this kernel\'s 7)', () => {
  test.each([
    [['capture', '--family', 'bogus'], /^nlmonctl capture: unknown netlink family "bogus"$/],
    [['capture', '--family', 'route,65536'], /unknown netlink family "65536"/],
    [['capture', '--buffer-size', '5000'], /^nlmonctl capture: buffer size must be 1 to 4096 MiB, got 5000$/],
    [['capture', '--buffer-size', '4294967297'], /buffer size must be 1 to 4096 MiB, got 4294967297/],
    [['capture', '--count', '1e16'], /count must be a whole number ≥ 1, got 10000000000000000/],
    [['capture', '--link', 'lo', '--family', 'bogus'], /unknown netlink family "bogus"/],
    [['capture', '-r', '/nonexistent/in.pcap', '--family', 'bogus'], /unknown netlink family "bogus"/],
    [['trace', '--family', 'bogus', '--', 'true'], /^nlmonctl trace: unknown netlink family "bogus"$/],
    [['trace', '--buffer-size', '4097', '--', 'true'], /^nlmonctl trace: buffer size must be 1 to 4096 MiB, got 4097$/],
  ])('%j', async (args, pattern) => {
    const before = await linkTable()
    const result = await nlmonctl(args, { netns: ns.name })
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expectOneLineError(result, pattern)
    expect(await linkTable()).toEqual(before)
  })

  test('under --json: the same exit code and one error object', async () => {
    const result = await nlmonctl(['capture', '--json', '--family', 'bogus'], { netns: ns.name })
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'INVALID_INPUT', exitCode: 2, message: 'unknown netlink family "bogus"' },
    })
  })

  test('trace: CMD never starts', async () => {
    const marker = join(dir, 'ran')
    const result = await nlmonctl(['trace', '--family', 'bogus', '--', 'touch', marker], { netns: ns.name })
    expect(result.exitCode).toBe(2)
    expect(existsSync(marker)).toBe(false)
  })

  test('valid options reach the kernel: this one has no nlmon (exit 7)', async () => {
    const result = await nlmonctl(['capture', '--family', 'route,Generic,+16,65535', '--buffer-size', '4096', '--count', '9e15'], {
      netns: ns.name,
    })
    expect(result.exitCode).toBe(7)
  })

  test('an existing -w file still comes first (exit 4), as before', async () => {
    const result = await nlmonctl(['capture', '-w', '/etc/hostname', '--family', 'bogus'], { netns: ns.name })
    expect(result.exitCode).toBe(4)
    expectOneLineError(result, /\/etc\/hostname already exists; hint: use --force/)
  })
})

describe('--family: the TypeScript check gives the native capture\'s verdicts', () => {
  test('every name and alias of names.rs, other spellings, numbers and non-families', async () => {
    // The names and aliases as the Rust source spells them, so that a family added there shows up here.
    const source = readFileSync(join(ROOT, 'native/src/capture/names.rs'), 'utf8')
    const table = source.slice(source.indexOf('const FAMILIES'), source.indexOf('];', source.indexOf('const FAMILIES')))
    const names = [...table.matchAll(/\(\d+, "([^"]+)"\)/g)].map((m) => m[1])
    const byName = source.slice(source.indexOf('pub fn family_by_name'), source.indexOf('\n}\n', source.indexOf('pub fn family_by_name')))
    const aliases = [...byName.matchAll(/"([a-z_]+)"/g)].map((m) => m[1])
    expect(names.length).toBeGreaterThanOrEqual(20)
    expect(aliases).toEqual(expect.arrayContaining(['rtnetlink', 'genl', 'nfnetlink', 'inet_diag']))
    const candidates = [
      ...new Set([...names, ...aliases, ...[...names, ...aliases].map((n) => n.toUpperCase())]),
      'Route', ' route', 'route ', 'route\u0085', 'route\u00a0', '\u212Aobject_uevent', 'rou te', 'route2', 'family_16',
      '0', '16', '007', '+16', '65535', '65536', '99999999999999999999', '-1', '-0', '1e3', '0x10', '1.0', '', '+', 'bogus',
    ]
    // Each candidate through the native readPcap (which checks its options before opening the file),
    // in a child process inside the namespace: EARG is a refusal, anything else an acceptance.
    const script = `
      import { readPcap } from ${JSON.stringify(join(ROOT, 'native/index.js'))}
      const out = []
      for (const family of JSON.parse(process.argv[1])) {
        try {
          const session = await readPcap('/nonexistent/nlmonctl-family.pcap', { families: [family] })
          session.stop()
          out.push({ family, code: 'OK' })
        } catch (error) {
          const info = JSON.parse(error.message)
          out.push({ family, code: info.code, message: info.code === 'EARG' ? info.message : undefined })
        }
      }
      console.log(JSON.stringify(out))
    `
    const child = await execa('ip', ['netns', 'exec', ns.name, process.execPath, '--input-type=module', '-e', script, JSON.stringify(candidates)])
    const verdicts = JSON.parse(String(child.stdout)) as Array<{ family: string; code: string; message?: string }>
    expect(verdicts).toHaveLength(candidates.length)
    const native = verdicts.map((v) => [v.family, v.code !== 'EARG'])
    const ours = candidates.map((family) => [family, knownFamily(family)])
    expect(ours).toEqual(native)
    // the refusals read the same (printable ASCII: Rust's {:?} and JSON.stringify agree there)
    for (const v of verdicts.filter((x) => x.code === 'EARG' && /^[ -~]*$/.test(x.family))) {
      expect(v.message).toBe(`unknown netlink family ${JSON.stringify(v.family)}`)
    }
  })
})
