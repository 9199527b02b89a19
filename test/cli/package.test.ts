// What a user gets from `npm install -g`: the packed tarballs (scripts/pack.js: nlmonctl + the
// @nlmonctl/native-linux-x64-gnu platform package napi-rs style) installed into a temporary prefix,
// with cargo off the PATH and HOME/npm cache in temporary folders, then run from there.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { execa } from 'execa'
import { ROOT } from '../helpers/cli.js'

let dir: string
let prefix: string
let env: Record<string, string>
const version = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).version as string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-pack-'))
  prefix = join(dir, 'prefix')
  // No cargo, rustc or rustup anywhere on this PATH; node itself stays reachable.
  const path = [join(prefix, 'bin'), dirname(process.execPath), '/usr/sbin', '/usr/bin', '/sbin', '/bin']
    .filter((p) => !['cargo', 'rustc', 'rustup'].some((tool) => existsSync(join(p, tool))))
    .join(delimiter)
  env = {
    PATH: path,
    HOME: join(dir, 'home'),
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_prefix: prefix,
    NO_COLOR: '1',
    NODE_ENV: 'production',
  } // jest's NODE_ENV=test would make oclif look for TypeScript sources
}, 300_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('npm pack → npm install -g (no cargo) → nlmonctl runs from the prefix, its addon from the platform package', async () => {
  expect(
    (await execa('sh', ['-c', 'command -v cargo || command -v rustc'], { env, extendEnv: true, reject: false }))
      .exitCode,
  ).not.toBe(0)

  const packed = await execa(process.execPath, [`${ROOT}scripts/pack.js`, join(dir, 'tarballs')])
  const tarballs = String(packed.stdout).trim().split('\n')
  expect(tarballs.map((t) => t.slice(t.lastIndexOf('/') + 1))).toEqual([
    `nlmonctl-${version}.tgz`,
    `nlmonctl-native-linux-x64-gnu-${version}.tgz`,
  ])
  const listing = String((await execa('tar', ['tzf', tarballs[0]])).stdout).split('\n')
  for (const needed of [
    'package/bin/run.js',
    'package/dist/lean.cjs',
    'package/dist/index.cjs',
    'package/oclif.manifest.json',
    'package/native/index.js',
    'package/schema/capture-record.v1.json',
  ]) {
    expect(listing).toContain(needed)
  }
  expect(listing.filter((f) => f.endsWith('.node') || f.includes('/src/') || f.endsWith('.rs'))).toEqual([])
  expect(String((await execa('tar', ['tzf', tarballs[1]])).stdout)).toContain('package/nlmonctl.linux-x64-gnu.node')

  // The README's install line, run as written (from a folder holding packed/; -g goes to npm_config_prefix).
  const readmeInstall = readFileSync(join(ROOT, 'README.md'), 'utf8').match(
    /^(npm install -g \.\/packed\/\S+ \.\/packed\/\S+)\n(.+)$/m,
  )
  const readmeLine = readmeInstall?.[1]
  // and the line the README shows after it, run as written with the installed nlmonctl on the PATH
  const readmeCheck = readmeInstall?.[2] ?? ''
  expect(readmeCheck).toMatch(/^nlmonctl /)
  expect(readmeLine).toBe(
    `npm install -g ./packed/nlmonctl-${version}.tgz ./packed/nlmonctl-native-linux-x64-gnu-${version}.tgz`,
  )
  mkdirSync(join(dir, 'packed'))
  for (const tarball of tarballs)
    copyFileSync(tarball, join(dir, 'packed', tarball.slice(tarball.lastIndexOf('/') + 1)))
  const install = await execa('sh', ['-c', readmeLine as string], {
    env: { ...env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' },
    extendEnv: true,
    reject: false,
    cwd: dir,
  })
  expect({ exitCode: install.exitCode, stderr: install.stderr }).toMatchObject({ exitCode: 0 })
  const installed = join(prefix, 'lib', 'node_modules')
  expect(readdirSync(join(installed, 'nlmonctl', 'native')).filter((f) => f.endsWith('.node'))).toEqual([])
  for (const pkg of ['nlmonctl', '@nlmonctl/native-linux-x64-gnu']) {
    const scripts = JSON.parse(readFileSync(join(installed, pkg, 'package.json'), 'utf8')).scripts ?? {}
    expect([pkg, scripts.preinstall, scripts.install, scripts.postinstall]).toEqual([
      pkg,
      undefined,
      undefined,
      undefined,
    ])
  }

  const run = (...args: string[]) => execa('nlmonctl', args, { env, extendEnv: true, reject: false, cwd: dir })
  const check = await execa('sh', ['-c', readmeCheck], { env, extendEnv: true, reject: false, cwd: dir })
  expect({ command: readmeCheck, exitCode: check.exitCode, stderr: check.stderr }).toEqual({
    command: readmeCheck,
    exitCode: 0,
    stderr: '',
  })
  const versionRun = await run('--version')
  expect(versionRun.exitCode).toBe(0)
  expect(String(versionRun.stdout)).toMatch(new RegExp(`^nlmonctl/${version.replace(/\./g, '\\.')} linux-x64 node-`))
  const list = await run('list', '--json')
  expect({ exitCode: list.exitCode, stderr: list.stderr }).toEqual({ exitCode: 0, stderr: '' })
  expect(Array.isArray(JSON.parse(String(list.stdout)))).toBe(true)
  expect((await run('batch', '--help')).exitCode).toBe(0)

  // The loader really found the addon in the platform package: without it, list cannot run.
  const platform = join(installed, '@nlmonctl', 'native-linux-x64-gnu')
  renameSync(platform, `${platform}.away`)
  try {
    const without = await run('list')
    expect(without.exitCode).not.toBe(0)
    expect(String(without.stderr)).toMatch(/native binding|Cannot find/i)
    // bin/run.js's fast path (list --json into a pipe) hands the failure to the full CLI, which reports it
    const withoutFast = await run('list', '--json')
    expect(withoutFast.exitCode).toBe(without.exitCode)
    expect(String(withoutFast.stderr)).toMatch(/native binding|Cannot find/i)
  } finally {
    renameSync(`${platform}.away`, platform)
  }
}, 600_000)
