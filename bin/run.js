#!/usr/bin/env node
// nlmonctl's entry. The CLI is one CommonJS bundle (dist/index.cjs, scripts/bundle.js); compiling it
// is a large part of every call's start-up, so it runs as a node:vm script with a V8 code cache kept
// in $XDG_CACHE_HOME/nlmonctl (~/.cache/nlmonctl), one per command (the code a command runs is what
// its cache holds), written after a run that had none (or a stale one) and then reused: V8 checks it
// against the bundle and this Node and throws away one that does not match. NLMONCTL_CODE_CACHE=0
// turns it off; a cache that cannot be read or written is simply not used.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire, Module } from 'node:module'
import { homedir } from 'node:os'
import { isatty } from 'node:tty'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

const bundle = fileURLToPath(new URL('../dist/index.cjs', import.meta.url))
const useCache = process.env.NLMONCTL_CODE_CACHE !== '0'

const MAX_CACHE_FILES = 32

/** The cache of this bundle build and Node for this command: each command caches the code it runs. */
function cacheFile(argv) {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const { size, mtimeMs } = statSync(bundle)
  const command = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : '-'
  const build = `code-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`
  return { dir: join(base, 'nlmonctl'), build, file: join(base, 'nlmonctl', `${build}-${command}.bin`) }
}

/** Write the cache; drop those of other builds; never more than MAX_CACHE_FILES. */
function saveCache({ dir, build, file }, data) {
  mkdirSync(dir, { recursive: true })
  const others = readdirSync(dir).filter((name) => name.startsWith('code-'))
  for (const name of others.filter((name) => !name.startsWith(`${build}-`))) rmSync(join(dir, name), { force: true })
  if (others.filter((name) => name.startsWith(`${build}-`)).length >= MAX_CACHE_FILES) return
  const temp = `${file}.${process.pid}`
  writeFileSync(temp, data)
  renameSync(temp, file)
}

function load(argv) {
  const cache = useCache ? cacheFile(argv) : undefined
  let cachedData
  try {
    if (cache) cachedData = readFileSync(cache.file)
  } catch {
    // no cache yet
  }
  // Module.wrap's function, plus the importer for oclif's import() calls (see scripts/bundle.js).
  const source = `(function (exports, require, module, __filename, __dirname, __nlmonctlImportHost) { ${readFileSync(bundle, 'utf8')}\n})`
  const script = new vm.Script(source, { filename: bundle, cachedData })
  const module = new Module(bundle)
  module.filename = bundle
  module.paths = Module._nodeModulePaths(dirname(bundle))
  // oclif loads the commands from this same file (package.json oclif.commands.target): it gets this instance.
  Module._cache[bundle] = module
  const importer = (specifier) => import(specifier)
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle), importer)
  module.loaded = true
  const save = () => {
    if (!cache || (cachedData && !script.cachedDataRejected)) return
    try {
      saveCache(cache, script.createCachedData())
    } catch {
      // a read-only home: no cache, same behaviour
    }
  }
  return { cli: module.exports, save }
}

/**
 * `list --json` / `stats --json` (in any order, with or without --netns NS) into a pipe or a file: what
 * scripts poll thousands of links with. Starting oclif costs more than the dump, so these print the
 * addon's bytes straight away: the same dump, shaped by native/src/ip_json.rs, the twin of
 * src/core/link-json.ts (a guest test compares both paths byte for byte). Any other words, a terminal,
 * or any failure go the normal way, which then reports the failure (both paths only read).
 * NLMONCTL_FAST_PATH=0 turns it off.
 * @returns {{ netns?: string } | undefined}
 */
function fastListing(argv) {
  if (process.env.NLMONCTL_FAST_PATH === '0' || isatty(1)) return undefined
  const [command, ...rest] = argv
  if (command !== 'list' && command !== 'stats') return undefined
  let json = false
  let netns
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]
    if (word === '--json' && !json) json = true
    else if (word === '--netns' && netns === undefined && /^[^-]/.test(rest[i + 1] ?? '')) netns = rest[++i]
    else if (word.startsWith('--netns=') && netns === undefined && word.length > 8) netns = word.slice(8)
    else return undefined
  }
  return json ? { netns } : undefined
}

async function printListing({ netns }) {
  let bytes
  try {
    const { listLinksIpJson } = await import('#native')
    bytes = await listLinksIpJson('nlmon', netns === undefined ? undefined : { netns })
  } catch {
    return false
  }
  process.stdout.on('error', () => {}) // a reader that stops early (| head) is not an error
  process.stdout.write(bytes)
  return true
}

const argv = process.argv.slice(2)
const fast = fastListing(argv)
if (!fast || !(await printListing(fast))) {
  const { cli, save } = load(argv)
  await cli.main(argv, import.meta.url, { importAddon: () => import('#native') })
  // After the run, so that the functions it compiled are in the cache too.
  save()
}
