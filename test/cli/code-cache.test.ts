// bin/run.js runs each bundle (dist/lean.cjs for the script verbs, dist/index.cjs for the full CLI)
// with a V8 code cache under $XDG_CACHE_HOME/nlmonctl: the first run writes it, later runs use it, a
// damaged one is replaced, and none of that changes what nlmonctl does.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, nlmonctl } from '../helpers/cli.js'

let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'nlmonctl-cache-'))
})
afterEach(() => rmSync(home, { recursive: true, force: true }))

const cacheFiles = (prefix = 'code-') => {
  try {
    return readdirSync(join(home, 'nlmonctl')).filter((f) => f.startsWith(prefix))
  } catch {
    return []
  }
}

// Commands that reach every path the cache touches: oclif's own help, an ES-module plugin loaded
// with import() (autocomplete; Node 20 has no import() in cached code without bin/run.js's importer)
// and a validation error with its exit code.
// Node's own warnings carry the pid.
const same = (r: { stdout: string; stderr: string; exitCode: number }) => ({
  ...r,
  stderr: r.stderr.replace(/\(node:\d+\)/g, '(node:PID)'),
})

const runs: string[][] = [['--version'], ['add', '--help'], ['autocomplete', 'bash'], ['add', '--mtu', '1']]

test('first run writes the cache, later runs read it, and the output is the same with or without it', async () => {
  const env = { XDG_CACHE_HOME: home, HOME: home }
  const without = []
  for (const args of runs) without.push(same(await nlmonctl(args, { env: { ...env, NLMONCTL_CODE_CACHE: '0' } })))
  expect(cacheFiles()).toEqual([])
  const first = same(await nlmonctl(runs[0], { env }))
  expect(cacheFiles()).toHaveLength(1)
  const [file] = cacheFiles()
  const written = readFileSync(join(home, 'nlmonctl', file))
  expect(written.length).toBeGreaterThan(10_000)
  expect(first).toEqual(without[0])
  for (const [i, args] of runs.entries()) {
    const cached = same(await nlmonctl(args, { env }))
    expect({ args, ...cached }).toEqual({ args, ...without[i] })
  }
  // used, not rewritten
  expect(readFileSync(join(home, 'nlmonctl', file)).equals(written)).toBe(true)
  // one cache per command word (each holds the code its command runs)
  expect(
    cacheFiles()
      .map((f) => f.replace(/^code-.*-\d+-\d+-/, ''))
      .sort(),
  ).toEqual(['-.bin', 'add.bin', 'autocomplete.bin'])
  // a new build's first write removes the caches of other builds
  writeFileSync(join(home, 'nlmonctl', 'code-v0.0.0-x64-1-1-list.bin'), 'old')
  await nlmonctl(['list', '--help'], { env })
  expect(cacheFiles().some((f) => f.startsWith('code-v0.0.0'))).toBe(false)
})

test('a damaged cache is thrown away and replaced; an unwritable cache directory is no error', async () => {
  const env = { XDG_CACHE_HOME: home, HOME: home }
  await nlmonctl(['--version'], { env })
  const [file] = cacheFiles()
  writeFileSync(join(home, 'nlmonctl', file), Buffer.from('not a V8 code cache'.repeat(100)))
  const damaged = await nlmonctl(['--version'], { env })
  expect(damaged.exitCode).toBe(0)
  expect(damaged.stderr).toBe('')
  expect(readFileSync(join(home, 'nlmonctl', file)).toString()).not.toContain('not a V8 code cache')
  // XDG_CACHE_HOME is a file: nothing can be written under it
  const blocked = join(home, 'blocked')
  writeFileSync(blocked, '')
  const result = await nlmonctl(['--version'], { env: { XDG_CACHE_HOME: blocked, HOME: home } })
  expect(result.exitCode).toBe(0)
  expect(result.stdout).toMatch(/^nlmonctl\//)
  expect(result.stderr).toBe('')
})

test("the lean bundle has caches of its own: written, reused, a damaged one replaced, the full CLI's left alone", async () => {
  const env = { XDG_CACHE_HOME: home, HOME: home }
  const args = ['add', '--json', '--mtu', '1'] // a refusal: no kernel needed
  const without = same(await nlmonctl(args, { env: { ...env, NLMONCTL_CODE_CACHE: '0' } }))
  expect(without.exitCode).toBe(2)
  expect(cacheFiles('')).toEqual([])
  expect(same(await nlmonctl(args, { env }))).toEqual(without)
  expect(cacheFiles('')).toEqual(cacheFiles('lean-'))
  expect(cacheFiles('lean-').map((f) => f.replace(/^lean-.*-\d+-\d+-/, ''))).toEqual(['add.bin'])
  const [file] = cacheFiles('lean-')
  const written = readFileSync(join(home, 'nlmonctl', file))
  expect(same(await nlmonctl(args, { env }))).toEqual(without)
  expect(readFileSync(join(home, 'nlmonctl', file)).equals(written)).toBe(true)
  writeFileSync(join(home, 'nlmonctl', file), Buffer.from('not a V8 code cache'.repeat(100)))
  expect(same(await nlmonctl(args, { env }))).toEqual(without)
  expect(readFileSync(join(home, 'nlmonctl', file)).toString()).not.toContain('not a V8 code cache')
  // the full CLI's caches and the lean ones do not remove each other (their builds differ)
  await nlmonctl(['--version'], { env })
  expect(cacheFiles('code-')).toHaveLength(1)
  expect(cacheFiles('lean-')).toContain(file)
})

test('a FIFO planted at the cache path is not read (no hang): the run is as without a cache', async () => {
  const env = { XDG_CACHE_HOME: home, HOME: home }
  await nlmonctl(['add', '--mtu', '1'], { env })
  const [file] = cacheFiles('lean-')
  const path = join(home, 'nlmonctl', file)
  rmSync(path)
  execFileSync('mkfifo', [path])
  const { execa } = await import('execa')
  const r = await execa(process.execPath, [BIN, 'add', '--mtu', '1'], {
    reject: false,
    timeout: 60_000,
    env: { ...env, NO_COLOR: '1' },
    stdin: 'ignore',
  })
  expect(r.timedOut).toBe(false)
  expect(r.exitCode).toBe(2)
})
