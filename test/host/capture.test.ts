// capture and trace refuse what needs no kernel before any link request: on this kernel (no nlmon)
// creating the ephemeral link answers exit 7, so an exit 2 proves that nothing was asked of the
// kernel first. Inside a throwaway namespace, so a kernel that has nlmon would not see a link come
// and go in the host's.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNetns, type Netns } from '../helpers/netns.js'
import { expectOneLineError, nlmonctl } from '../helpers/cli.js'
import { parseCapture } from '../helpers/records.js'

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

describe("refused before any link is created (exit 2, not this kernel's 7)", () => {
  test.each([
    [['capture', '--family', 'bogus'], /^nlmonctl capture: unknown netlink family "bogus"$/],
    [['capture', '--family', 'route,65536'], /unknown netlink family "65536"/],
    [['capture', '--buffer-size', '5000'], /^nlmonctl capture: buffer size must be 1 to 4096 MiB, got 5000$/],
    [['capture', '--buffer-size', '4294967297'], /buffer size must be 1 to 4096 MiB, got 4294967297/],
    [['capture', '--count', '10000000000000000'], /count must be a whole number ≥ 1, got 10000000000000000/],
    [['capture', '--link', 'lo', '--family', 'bogus'], /unknown netlink family "bogus"/],
    [['capture', '-r', '/nonexistent/in.pcap', '--family', 'bogus'], /unknown netlink family "bogus"/],
    [
      ['capture', '--pcapng'],
      /^nlmonctl capture: --pcapng is the format of the -w output: it needs -w FILE \(or -w -\)$/,
    ],
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
    expect(parseCapture(result.stdout)).toEqual({
      records: [],
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
    const result = await nlmonctl(
      ['capture', '--family', 'route,Generic,+16,65535', '--buffer-size', '4096', '--count', '9000000000000000'],
      {
        netns: ns.name,
      },
    )
    expect(result.exitCode).toBe(7)
  })

  test('an existing -w file still comes first (exit 4), as before', async () => {
    const result = await nlmonctl(['capture', '-w', '/etc/hostname', '--family', 'bogus'], { netns: ns.name })
    expect(result.exitCode).toBe(4)
    expectOneLineError(result, /\/etc\/hostname already exists; hint: use --force/)
  })
})
