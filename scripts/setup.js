#!/usr/bin/env node
// Brings a fresh clone to a runnable state, and does nothing when it is already there:
// npm dependencies, the native addon (cargo via @napi-rs/cli), the TypeScript build and the oclif manifest.
// Uses only Node built-ins, since it runs before the dependencies exist.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const quiet = process.argv.includes('--quiet')

/** @param {string[]} paths @returns {number} */
function newest(paths) {
  let latest = 0
  for (const path of paths) {
    const full = join(root, path)
    if (!existsSync(full)) continue
    const stat = statSync(full)
    if (stat.isDirectory()) {
      latest = Math.max(latest, newest(readdirSync(full).map((entry) => join(path, entry))))
    } else {
      latest = Math.max(latest, stat.mtimeMs)
    }
  }
  return latest
}

/** @param {string[]} paths */
function oldest(paths) {
  const times = paths.map((path) => (existsSync(join(root, path)) ? statSync(join(root, path)).mtimeMs : 0))
  return Math.min(...times)
}

/** @param {string} what @param {string} command @param {string[]} args */
function step(what, command, args) {
  if (!quiet) process.stderr.write(`setup: ${what}\n`)
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] })
  if (result.status !== 0) {
    process.stderr.write(`setup: failed: ${command} ${args.join(' ')} (exit ${result.status ?? result.signal})\n`)
    process.exit(1)
  }
}

for (const tool of ['cargo', 'npm']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write(`setup: ${tool} is needed to build nlmonctl from source, and is not on PATH\n`)
    process.exit(1)
  }
}

// npm test's guardrails run cargo fmt and clippy: rustup ships them as components that a minimal
// toolchain may lack.
if (['fmt', 'clippy'].some((tool) => spawnSync('cargo', [tool, '--version'], { stdio: 'ignore' }).status !== 0)) {
  step('adding the rustfmt and clippy components', 'rustup', ['component', 'add', 'rustfmt', 'clippy'])
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
// Installed means: node_modules was installed from this very package-lock.json (its hash is recorded after a
// successful install). File times would say "stale" whenever a checkout or an editor touches package.json, and
// a reinstall under a running test suite removes the modules it is using.
const lockHash = () =>
  createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex')
const installedMark = join(root, 'node_modules', '.nlmonctl-installed-lock')
const installedHash = existsSync(installedMark) ? readFileSync(installedMark, 'utf8').trim() : ''
if (!existsSync(join(root, 'package-lock.json')) || installedHash !== lockHash()) {
  step('installing npm dependencies', npm, [
    existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install',
    '--no-audit',
    '--no-fund',
  ])
  if (existsSync(join(root, 'package-lock.json'))) writeFileSync(installedMark, `${lockHash()}\n`)
}

// The eBPF program's compiler and headers (clang-14, libbpf-dev, linux-libc-dev from Debian bookworm, into
// ~/.cache/nlmonctl/bpf-toolchain), needed by native/build.rs; a cached toolchain costs no apt run. The npm
// dependencies this uses (execa) exist from here on.
try {
  const { ensureBpfToolchain } = await import('./bpf-toolchain.js')
  await ensureBpfToolchain({ log: (line) => quiet || process.stderr.write(`setup: bpf toolchain: ${line}\n`) })
} catch (error) {
  process.stderr.write(
    `setup: failed to fetch the eBPF toolchain: ${/** @type {Error} */ (error).message.split('\n')[0]}\n`,
  )
  process.exit(1)
}

const addon = readdirSync(join(root, 'native'))
  .filter((file) => file.endsWith('.node'))
  .map((file) => join('native', file))
if (
  addon.length === 0 ||
  newest(['native/src', 'native/bpf', 'native/Cargo.toml', 'native/build.rs', 'Cargo.toml', 'Cargo.lock']) >
    oldest(addon)
) {
  step('building the native addon (cargo, release)', npm, ['run', '--silent', 'build:native'])
}

if (
  newest(['src', 'tsconfig.json', 'package.json']) > oldest(['dist/lean.cjs', 'dist/index.cjs', 'oclif.manifest.json'])
) {
  step('compiling TypeScript and the oclif manifest', npm, ['run', '--silent', 'build:ts'])
}
