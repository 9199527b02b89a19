// nlmonctl batch against this machine's kernel (no nlmon driver) in a throwaway namespace: the
// semantics that need no nlmon link — stop vs --continue, comments, refused lines, exit codes, one
// socket. Real adds and dels through batch run in the guest (test/kernel/batch.test.ts).
import { execa } from 'execa'
import { createNetns, type Netns } from '../helpers/netns.js'
import { BIN, nlmonctl } from '../helpers/cli.js'

let ns: Netns
beforeAll(async () => {
  ns = await createNetns()
  await execa('ip', ['-n', ns.name, 'link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b'])
})
afterAll(async () => ns?.remove())

const linkTable = async () =>
  (await ns.links()).map(({ ifindex, ifname, flags, mtu }) => ({ ifindex, ifname, flags, mtu }))
const batch = (input: string, ...args: string[]) => nlmonctl(['batch', ...args], { netns: ns.name, input })
const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('batch', () => {
  test('comments and blank lines are skipped; each line prints what the command prints', async () => {
    const result = await batch('# list twice\n\nlist\n   # indented comment\nstats --json\n', '--json')
    expect(result).toMatchObject({ exitCode: 0, stderr: '' })
    expect(jsonLines(result.stdout)).toEqual([
      { line: 3, command: 'list', exitCode: 0, result: [] },
      { line: 5, command: 'stats --json', exitCode: 0, result: [] },
    ])
  })

  test('stops at the first failure with its exit code; later lines do not run', async () => {
    const result = await batch('list\ndel veth-a\ndel no-such-link\nlist\n', '--json')
    expect(result.exitCode).toBe(5) // NOT_NLMON, the first failure
    const lines = jsonLines(result.stdout)
    expect(lines.map((l) => [l.line, l.exitCode])).toEqual([
      [1, 0],
      [2, 5],
    ])
    expect(lines[1]).toMatchObject({ command: 'del veth-a', error: { code: 'NOT_NLMON', exitCode: 5 } })
    expect(result.stderr).toMatch(
      /^nlmonctl batch: line 2 \(del veth-a\): link "veth-a" is not an nlmon link \(kind: veth\)/,
    )
    expect((await linkTable()).map((l) => l.ifname)).toContain('veth-a')
  })

  test('--continue runs every line; the exit code is still the first failure', async () => {
    const result = await batch('del no-such-link\ndel veth-a\nlist\nadd mon0\n', '--json', '--continue')
    expect(result.exitCode).toBe(3) // NOT_FOUND came first
    expect(jsonLines(result.stdout).map((l) => [l.line, l.exitCode])).toEqual([
      [1, 3],
      [2, 5],
      [3, 0],
      [4, 7], // this kernel has no nlmon
    ])
    expect(result.stderr).toMatch(/3 of 4 lines failed/)
  })

  test('a refused line changes nothing: every line is validated before any runs', async () => {
    const before = await linkTable()
    // Line 1 would change veth-a if it ran (it is refused later as not nlmon, but must not even be sent).
    const result = await batch('set veth-a --mtu 1400\nset veth-a --mtu 3\n', '--json')
    expect(result.exitCode).toBe(2)
    expect(jsonLines(result.stdout)).toEqual([
      expect.objectContaining({
        line: 2,
        exitCode: 2,
        error: expect.objectContaining({
          code: 'INVALID_INPUT',
          message: expect.stringMatching(/--mtu "3".*at least 16/),
        }),
      }),
    ])
    expect(result.stderr).toMatch(/nothing was run/)
    expect(await linkTable()).toEqual(before)
  })

  test('text mode: output as the commands print it; errors on stderr with the line number', async () => {
    const result = await batch('list\nstats\ndel lo\n')
    expect(result.exitCode).toBe(5)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toEqual([
      'nlmonctl batch: line 3 (del lo): link "lo" is not an nlmon link (kind: none); refusing to delete it',
    ])
  })

  test("without batch --json, a line's own --json prints that line as the command would", async () => {
    const result = await batch('list\nlist --json\nstats --json\n')
    expect(result).toEqual({ exitCode: 0, stdout: '[]\n[]', stderr: '' }) // execa drops the last newline
  })

  test.each([
    ['batch', /cannot run batch/],
    ['capture mon0', /not a command a batch line can run/],
    ['nosuch', /not a command a batch line can run/],
    ['stats --watch', /cannot be a batch line/],
    ['stats --watch --interval 0', /cannot be a batch line/],
    ['stats --interval 0', /invalid --interval "0": must be 0.1 to 3600 seconds/],
    ['stats --interval 3601', /invalid --interval "3601"/],
    ['stats --count 2', /--count goes with --watch/],
    ['stats --count 0', /invalid --count "0"/],
    ['stats a:b', /invalid link "a:b"/],
    ['add --no-such-flag', /Nonexistent flag: --no-such-flag/],
    ['set mon0 --up --down', /--down=true cannot also be provided when using --up|cannot also be provided/],
    [`set mon0 --alias "unterminated`, /unterminated double quote/],
    ['del', /name at least one link/],
    ['list --netns ""', /invalid --netns ""/],
    ['add mon0 --netns=..', /invalid --netns "\.\."/],
  ])('refused line: %s (exit 2)', async (line, message) => {
    const result = await batch(`list\n${line}\n`, '--json')
    expect(result.exitCode).toBe(2)
    const lines = jsonLines(result.stdout)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ line: 2, exitCode: 2, error: { code: 'INVALID_INPUT' } })
    expect(String((lines[0].error as Record<string, unknown>).message)).toMatch(message)
  })

  test('a stats line is validated as the command is: stats --interval 0 is refused alike, and nothing runs', async () => {
    const alone = await nlmonctl(['stats', '--interval', '0', '--json'], { netns: ns.name })
    expect(alone.exitCode).toBe(2)
    const before = await linkTable()
    // Line 1 is refused by the kernel only once it runs (veth-a is not nlmon): it must not run at all.
    const result = await batch('del veth-a\nstats --interval 0\n', '--json')
    expect(result.exitCode).toBe(2)
    expect(jsonLines(result.stdout)).toEqual([
      { line: 2, command: 'stats --interval 0', exitCode: 2, ...JSON.parse(alone.stdout) },
    ])
    expect(result.stderr).toMatch(/nothing was run/)
    expect(await linkTable()).toEqual(before)
  })

  test("reads -f FILE, and the batch --netns is every line's default", async () => {
    const file = `/tmp/nlmonctl-batch-${process.pid}.txt`
    await execa('sh', ['-c', `printf 'list\\ndel veth-b\\n' > ${file}`])
    try {
      // Run outside the namespace: --netns on batch points every line there.
      const result = await nlmonctl(['batch', '-f', file, '--netns', ns.name, '--json'])
      expect(result.exitCode).toBe(5)
      expect(jsonLines(result.stdout)[1]).toMatchObject({
        line: 2,
        error: { code: 'NOT_NLMON', message: expect.stringContaining('kind: veth') },
      })
    } finally {
      await execa('rm', ['-f', file])
    }
  })

  test('a missing file is exit 2; a line naming a missing namespace is exit 8', async () => {
    const missing = await nlmonctl(['batch', '-f', '/nonexistent/batch.txt'])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toMatch(/cannot read "\/nonexistent\/batch.txt" \(ENOENT\)/)
    const ns404 = await batch('list --netns nlmonctl-no-such-ns\n', '--json')
    expect(ns404.exitCode).toBe(8)
    expect(jsonLines(ns404.stdout)[0]).toMatchObject({ line: 1, error: { code: 'NETNS_NOT_FOUND' } })
  })

  test('all lines share one netlink socket per namespace', async () => {
    // strace counts socket(AF_NETLINK, …) calls: 200 lines, one socket.
    const lines = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'list' : 'stats')).join('\n') + '\n'
    const trace = `/tmp/nlmonctl-batch-strace-${process.pid}.txt`
    const result = await execa(
      'ip',
      [
        'netns',
        'exec',
        ns.name,
        'strace',
        '-f',
        '-qq',
        '-e',
        'trace=socket',
        '-o',
        trace,
        process.execPath,
        BIN,
        'batch',
        '--json',
      ],
      { input: lines, reject: false },
    )
    const syscalls = String((await execa('cat', [trace])).stdout)
    await execa('rm', ['-f', trace])
    expect(result.exitCode).toBe(0)
    expect(String(result.stdout).trim().split('\n')).toHaveLength(200)
    const netlinkSockets = syscalls.split('\n').filter((l) => l.includes('socket(AF_NETLINK'))
    expect(netlinkSockets).toHaveLength(1)
  })
})
