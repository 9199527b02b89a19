#!/usr/bin/env node
// nlmonctl's entry. The CLI is two CommonJS bundles (scripts/bundle.js): dist/lean.cjs runs the script
// verbs (add, del, list, set, stats, their refusals and their exit codes) without oclif, and says when
// argv is for the full CLI, dist/index.cjs (help, --version, batch, capture, trace, prune,
// autocomplete, stats --watch, unknown commands). NLMONCTL_FAST_PATH=0 skips the lean one.
// Compiling a bundle is a large part of every call's start-up, so each runs as a node:vm script with a
// V8 code cache kept in $XDG_CACHE_HOME/nlmonctl (~/.cache/nlmonctl), one per bundle and command (the
// code a command runs is what its cache holds), written after a run that had none (or a stale one) and
// then reused: V8 checks it against the bundle and this Node and throws away one that does not match.
// NLMONCTL_CODE_CACHE=0 turns it off; a cache that cannot be read or written is simply not used.
import { createRequire, Module } from 'node:module'

// Node's built-ins through require(), not import: an ES import of one builds a facade of all its
// exports, which for node:fs loads its streams — milliseconds that every call would pay.
const require = createRequire(import.meta.url)
const {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs')
const { homedir } = require('node:os')
const { dirname, join } = require('node:path')
const { fileURLToPath } = require('node:url')
const vm = require('node:vm')

const LEAN = { file: fileURLToPath(new URL('../dist/lean.cjs', import.meta.url)), prefix: 'lean' }
const FULL = { file: fileURLToPath(new URL('../dist/index.cjs', import.meta.url)), prefix: 'code' }
const useCache = process.env.NLMONCTL_CODE_CACHE !== '0'

const MAX_CACHE_FILES = 32

/** @typedef {{ file: string, prefix: string }} Bundle */
/** @typedef {{ dir: string, prefix: string, build: string, file: string }} CacheFile */

/**
 * The cache of this bundle build and Node for this command: each command caches the code it runs.
 * @param {Bundle} bundle @param {string[]} argv @returns {CacheFile}
 */
function cacheFile(bundle, argv) {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const { size, mtimeMs } = statSync(bundle.file)
  const command = /^[a-z][a-z-]{0,15}$/.test(argv[0] ?? '') ? argv[0] : '-'
  const build = `${bundle.prefix}-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`
  return {
    dir: join(base, 'nlmonctl'),
    prefix: bundle.prefix,
    build,
    file: join(base, 'nlmonctl', `${build}-${command}.bin`),
  }
}

/**
 * Write the cache; drop those of this bundle's other builds; never more than MAX_CACHE_FILES.
 * @param {CacheFile} cache @param {Buffer} data
 */
function saveCache({ dir, prefix, build, file }, data) {
  mkdirSync(dir, { recursive: true })
  const others = readdirSync(dir).filter((name) => name.startsWith(`${prefix}-`))
  for (const name of others.filter((name) => !name.startsWith(`${build}-`))) rmSync(join(dir, name), { force: true })
  if (others.filter((name) => name.startsWith(`${build}-`)).length >= MAX_CACHE_FILES) return
  const temp = `${file}.${process.pid}`
  writeFileSync(temp, data)
  renameSync(temp, file)
}

/**
 * A cache file's bytes, or undefined unless it is a regular file: opened O_NONBLOCK, since a FIFO
 * planted at the path would block a plain open (every run) forever.
 * @param {string} file @returns {Buffer | undefined}
 */
function readCache(file) {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW)
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd) : undefined
  } finally {
    closeSync(fd)
  }
}

/** @param {Bundle} bundle @param {string[]} argv */
function load(bundle, argv) {
  const cache = useCache ? cacheFile(bundle, argv) : undefined
  /** @type {Buffer | undefined} */
  let cachedData
  try {
    if (cache) cachedData = readCache(cache.file)
  } catch {
    // no cache yet
  }
  // Module.wrap's function, plus the importer for oclif's import() calls (see scripts/bundle.js).
  const source = `(function (exports, require, module, __filename, __dirname, __nlmonctlImportHost) { ${readFileSync(bundle.file, 'utf8')}\n})`
  const script = new vm.Script(source, { filename: bundle.file, cachedData })
  // Node's own loader internals, which the typings do not declare.
  const NodeModule = /** @type {any} */ (Module)
  const module = new Module(bundle.file)
  module.filename = bundle.file
  module.paths = NodeModule._nodeModulePaths(dirname(bundle.file))
  // oclif loads the commands from this same file (package.json oclif.commands.target): it gets this instance.
  NodeModule._cache[bundle.file] = module
  const importer = (/** @type {string} */ specifier) => import(specifier)
  script
    .runInThisContext()
    .call(
      module.exports,
      module.exports,
      createRequire(bundle.file),
      module,
      bundle.file,
      dirname(bundle.file),
      importer,
    )
  module.loaded = true
  const save = () => {
    if (!cache || (cachedData && !script.cachedDataRejected)) return
    try {
      saveCache(cache, script.createCachedData())
    } catch {
      // a read-only home: no cache, same behaviour
    }
  }
  return { exports: module.exports, save }
}

const argv = process.argv.slice(2)
const importAddon = () => import('#native')
let done = false
if (process.env.NLMONCTL_FAST_PATH !== '0') {
  const lean = load(LEAN, argv)
  done = await lean.exports.main(argv, { importAddon })
  // After the run, so that the functions it compiled are in the cache too.
  lean.save()
}
if (!done) {
  const full = load(FULL, argv)
  await full.exports.main(argv, import.meta.url, { importAddon })
  full.save()
}
