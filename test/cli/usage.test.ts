// Black-box: bad input is refused before anything reaches the kernel, with exit 2 and one line.
import { expectOneLineError, nlmonctl } from '../helpers/cli.js'

describe('invalid input exits 2 with one line on stderr, nothing on stdout', () => {
  test.each([
    [['add', '--address', '02:00:00:00:00:01'], /no hardware address.*EINVAL/],
    [['add', 'mon0', '--mac', '02:00:00:00:00:01'], /no hardware address/],
    [['add', '--lladdr=02:00:00:00:00:01'], /no hardware address/],
    [['add', '--broadcast', 'ff:ff:ff:ff:ff:fg'], /link-layer address.*IFLA_BROADCAST/],
    [['set', 'nlmon0', '--txqueuelen', '32768'], /--txqueuelen "32768": must be at most 32767/],
    [['set', 'nlmon0', '--address', '02:00:00:00:00:01'], /IFLA_ADDRESS/],
    [['add', '--mtu', '15'], /--mtu "15": must be at least 16/],
    [['add', '--mtu', '2147483648'], /at most 2147483647/],
    [['add', '--mtu', 'lots'], /unsigned 32-bit/],
    [['add', 'sixteen-bytes-xx'], /name "sixteen-bytes-xx": must be at most 15 bytes/],
    [['add', 'a/b'], /'\/'/],
    [['add', 'a b'], /whitespace/],
    [['add', '..'], /"\."/],
    [['add', '--alias', 'a'.repeat(256)], /at most 255 bytes/],
    [['add', '--txqueuelen', '-1'], /unsigned 32-bit/],
    [['add', '--group', '4294967296'], /unsigned 32-bit/],
    [['add', '--if-not-exists'], /--if-not-exists needs an explicit NAME/],
    [['add', 'x', 'y'], /Unexpected argument: y/],
    [['add', '--frobnicate'], /Nonexistent flag: --frobnicate/],
    [['set', 'nlmon0'], /nothing to change/],
    [['set', 'nlmon0', '--up', '--down'], /cannot also be provided|--down/],
    [['set', 'nlmon0', '--name', 'a b'], /--name "a b": must not contain whitespace/],
    [['set'], /Missing 1 required arg/],
    [['del'], /name at least one link/],
    [['del', 'x', '--all'], /not both/],
    [['del', 'a:b'], /invalid link "a:b"/],
    [['del', '0'], /ifindex is 1 to/],
    [['stats', '--interval', '0'], /--interval "0"/],
    [['stats', '--watch', '--count', '0'], /--count "0"/],
    [['stats', '--count', '2'], /--count goes with --watch/],
    [['frobnicate'], /command frobnicate not found/],
    [['list', '--netns='], /invalid --netns "": give a name under \/run\/netns/],
    [['add', 'mon0', '--netns', '..'], /invalid --netns "\.\."/],
    [['stats', '--netns', '.'], /invalid --netns "\."/],
  ])('%j', async (args, pattern) => {
    const result = await nlmonctl(args)
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expectOneLineError(result, pattern)
  })
})

describe('--json keeps the exit code and prints one JSON error object', () => {
  test.each([
    [['add', '--json', '--address', '02:00:00:00:00:01']],
    [['add', '--json', '--nope']],
    [['set', '--json', 'nlmon0']],
    [['del', '--json']],
  ])('%j', async (args) => {
    const result = await nlmonctl(args)
    expect(result.exitCode).toBe(2)
    const lines = result.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const body = JSON.parse(lines[0])
    expect(Object.keys(body)).toEqual(['error'])
    expect(body.error.code).toBe('INVALID_INPUT')
    expect(body.error.exitCode).toBe(2)
    expect(typeof body.error.message).toBe('string')
    expect(result.stdout).not.toMatch(/"flags"|"args"|"argv"|"input"/) // no parser internals
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('help', () => {
  test.each(['add', 'del', 'list', 'set', 'stats'])('%s --help has a summary and examples', async (command) => {
    const result = await nlmonctl([command, '--help'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/USAGE/)
    expect(result.stdout).toMatch(/EXAMPLES/)
    expect(result.stdout).toContain(`nlmonctl ${command}`)
  })

  test('add and set help carry the attribute rules from the table', async () => {
    for (const command of ['add', 'set']) {
      const { stdout } = await nlmonctl([command, '--help'])
      for (const ifla of [
        'IFLA_IFNAME',
        'IFLA_MTU',
        'IFLA_TXQLEN',
        'IFLA_GROUP',
        'IFLA_IFALIAS',
        'IFLA_ADDRESS',
        'IFLA_BROADCAST',
      ]) {
        expect(stdout).toContain(ifla)
      }
    }
  })

  test('stats help says where nlmon counts captured traffic', async () => {
    const { stdout } = await nlmonctl(['stats', '--help'])
    expect(stdout).toMatch(/rx_packets\/rx_bytes/)
  })

  test('--version', async () => {
    const result = await nlmonctl(['--version'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^nlmonctl\/\d+\.\d+\.\d+/)
  })
})

describe('trace refuses bad output before it runs CMD', () => {
  test('an existing -w FILE without --force: exit 4, CMD never started, FILE untouched', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, existsSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-usage-'))
    const file = join(dir, 'keep.pcap')
    writeFileSync(file, 'precious')
    for (const extra of [[], ['--only-cmd']]) {
      const marker = join(dir, `ran${extra.length}`)
      const result = await nlmonctl(['trace', ...extra, '-w', file, '--', 'touch', marker])
      expect(result.exitCode).toBe(4)
      expectOneLineError(result, /keep\.pcap already exists/)
      expect(existsSync(marker)).toBe(false)
    }
    expect(readFileSync(file, 'utf8')).toBe('precious')
  })

  test.each([
    [['trace'], /give the command to run after --/],
    [['trace', '--force', '--', 'true'], /--force goes with -w/],
  ])('%j', async (args, pattern) => {
    const result = await nlmonctl(args)
    expect(result.exitCode).toBe(2)
    expectOneLineError(result, pattern)
  })
})
