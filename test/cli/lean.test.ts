// bin/run.js runs the script verbs through dist/lean.cjs, without oclif, and everything else through
// the full CLI. Black-box: the lean path's output, stderr and exit code are the full CLI's
// (NLMONCTL_FAST_PATH=0 runs that one), and which bundle ran shows in the code cache it wrote
// (lean-… or code-…, see bin/run.js). Only refusals here: nothing reaches the kernel. The verbs that
// do are compared the same way in test/host/cli.test.ts, in a throwaway namespace.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nlmonctl } from '../helpers/cli.js'

let home: string
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'nlmonctl-lean-'))
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

let runs = 0
/** Run with a cache directory of its own; returns the result and the bundles that ran. */
async function run(args: string[], env: Record<string, string> = {}) {
  const cache = join(home, String(runs++))
  const result = await nlmonctl(args, { env: { XDG_CACHE_HOME: cache, HOME: home, ...env } })
  let files: string[] = []
  try {
    files = readdirSync(join(cache, 'nlmonctl'))
  } catch {
    // nothing written
  }
  const bundles = [...new Set(files.map((f) => f.split('-')[0]))].sort()
  return { result, bundles }
}

// Refusals of each verb, at each stage: the parser, the attribute table, the verb's own checks, --netns.
const refusals: string[][] = [
  ['add', '--address', '00:11:22:33:44:55'],
  ['add', '--json', '--address', '00:11:22:33:44:55'],
  ['add', '--mtu', '15'],
  ['add', 'x', 'y'],
  ['add', '--frobnicate'],
  ['add', '--json', '--nope'],
  ['add', '--mtu'],
  ['add', '--mtu', '--down'],
  ['add', '--txqlen', '1', '--txqueuelen', '2'],
  ['add', '--if-not-exists'],
  ['add', '--down=true'],
  ['add', 'a b'],
  ['add', 'mon0', '--netns', '..'],
  ['del'],
  ['del', '--json'],
  ['del', 'x', '--all'],
  ['del', 'a:b'],
  ['del', '0'],
  ['del', '-w'],
  ['list', 'x'],
  ['list', 'x', 'y', '--json'],
  ['list', '', 'x'],
  ['list', ''],
  ['list', '--netns='],
  ['list', '--netns', 'a', '--netns', 'b'],
  ['set'],
  ['set', 'nlmon0'],
  ['set', '--json', 'nlmon0'],
  ['set', 'nlmon0', '--up', '--down'],
  ['set', 'nlmon0', '--txqueuelen', '32768'],
  ['set', 'nlmon0', '--name', 'a b'],
  ['set', 'x', 'y', '--up'],
  ['stats', '--interval', '0'],
  ['stats', '--count', '2'],
  ['stats', '--json', '--count', '0'],
  ['stats', 'a:b'],
  ['stats', '--netns', '.'],
  ['stats', '-x'],
  ['stats', '--interval', 'x', '--json'],
]

describe("a refusal by a script verb: the full CLI's output, exit code and stderr, without loading oclif", () => {
  test.each(refusals.map((args) => [args]))('%j', async (args) => {
    const lean = await run(args)
    const full = await run(args, { NLMONCTL_FAST_PATH: '0' })
    expect(lean.result).toEqual(full.result)
    expect(lean.result.exitCode).toBe(2)
    expect(lean.bundles).toEqual(['lean'])
    expect(full.bundles).toEqual(['code'])
  })

  test('NLMONCTL_CONTENT_TYPE=json, as oclif honours it', async () => {
    const args = ['add', '--mtu', '1']
    const lean = await run(args, { NLMONCTL_CONTENT_TYPE: 'json' })
    expect(lean.result).toEqual((await run(args, { NLMONCTL_CONTENT_TYPE: 'json', NLMONCTL_FAST_PATH: '0' })).result)
    expect(JSON.parse(lean.result.stdout).error.code).toBe('INVALID_INPUT')
    expect(lean.bundles).toEqual(['lean'])
  })
})

test('on a terminal (a pseudo-terminal from script(1)) too: indented JSON, as the full CLI prints it', async () => {
  const { execa } = await import('execa')
  const { BIN } = await import('../helpers/cli.js')
  const onTerminal = async (env: string) =>
    String(
      (
        await execa('script', ['-qec', `${env} ${process.execPath} ${BIN} add --json --mtu 1`, '/dev/null'], {
          reject: false,
          env: { NO_COLOR: '1' },
        })
      ).stdout,
    )
  const lean = await onTerminal('')
  expect(lean).toEqual(await onTerminal('NLMONCTL_FAST_PATH=0'))
  expect(lean).toMatch(/^\{\r?\n {2}"error": \{/m)
})

describe('what the full CLI runs', () => {
  test.each([
    [['--version']],
    [['--help']],
    [['help', 'add']],
    [['add', '--help']],
    [['del', 'x', '--help']],
    [['frobnicate']],
    [['capture', '--nope']],
    [['batch', '-f', '/nonexistent/x']],
    [['stats', '--watch', '--count', '0']],
  ])('%j', async (args) => {
    const { result, bundles } = await run(args)
    expect(bundles).toContain('code')
    expect(result).toEqual((await run(args, { NLMONCTL_FAST_PATH: '0' })).result)
  })

  test('add … -- --help is an add: `--help` after `--` is a word, not a request for help', async () => {
    const { result, bundles } = await run(['add', '--mtu', '1', '--', '--help'])
    expect(bundles).toEqual(['lean'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^nlmonctl add: invalid --mtu "1"/)
  })
})
