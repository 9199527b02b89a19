// @ts-check
// Debian's stock kernels (and busybox-static) fetched into a private cache with apt-get, installing nothing:
// a private sources list, lists folder, package cache and dpkg status per kernel name, then `apt-get download`
// and `dpkg -x`. Only what the guest needs is kept: vmlinuz, the chosen modules (decompressed), the config.
import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { which, tail } from './apt.js'

const DEBIAN_MIRROR = process.env.NLMONCTL_DEBIAN_MIRROR || 'http://deb.debian.org/debian'
const SECURITY_MIRROR = process.env.NLMONCTL_DEBIAN_SECURITY_MIRROR || 'http://deb.debian.org/debian-security'
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'

/**
 * @typedef {object} KernelSpec
 * @property {string} description
 * @property {Array<[mirror: string, suite: string]>} sources apt sources (main, amd64) searched for the meta package
 */

/** @type {Readonly<Record<string, KernelSpec>>} */
export const KERNELS = Object.freeze({
  bookworm: {
    description: 'Debian 12 (bookworm) stock kernel, Linux 6.1',
    sources: [
      [DEBIAN_MIRROR, 'bookworm'],
      [DEBIAN_MIRROR, 'bookworm-updates'],
      [SECURITY_MIRROR, 'bookworm-security'],
    ],
  },
  trixie: {
    description: 'Debian 13 (trixie) stock kernel, Linux 6.12',
    sources: [
      [DEBIAN_MIRROR, 'trixie'],
      [DEBIAN_MIRROR, 'trixie-updates'],
      [SECURITY_MIRROR, 'trixie-security'],
    ],
  },
  sid: {
    description: 'Debian unstable (sid) stock kernel, Linux 7.x',
    sources: [[DEBIAN_MIRROR, 'sid']],
  },
  experimental: {
    description: 'Debian experimental kernel (release candidates)',
    sources: [[DEBIAN_MIRROR, 'experimental']],
  },
})

/**
 * Modules the guest loads at boot (with their dependencies, in dependency order). `required` ones must exist,
 * as a module or built in; the others are loaded when the kernel has them as modules.
 */
export const GUEST_MODULES = Object.freeze({
  required: ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p', 'nlmon'],
  optional: ['dummy', 'veth', 'bridge', 'af_packet', 'netlink_diag', 'xfrm_user'],
})

const INDEX_FORMAT = 2
/** Bumped when what is kept from a kernel package changes; old extractions are then redone. */
const EXTRACT_FORMAT = 3

/** @returns {string} */
export function cacheDir() {
  if (process.env.NLMONCTL_VM_CACHE) return path.resolve(process.env.NLMONCTL_VM_CACHE)
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(base, 'nlmonctl', 'vm')
}

/** @returns {boolean} */
function refreshRequested() {
  const value = process.env.NLMONCTL_VM_REFRESH
  return value !== undefined && value !== '' && value !== '0' && value !== 'false'
}

/**
 * @typedef {object} ModuleEntry
 * @property {string} name module name (underscores)
 * @property {string} file file name inside the kernel's cache folder `modules/`
 */

/**
 * @typedef {object} KernelFiles
 * @property {string} name the kernel's name (bookworm, sid, …)
 * @property {string} release uname -r of this kernel, e.g. 6.1.0-41-amd64
 * @property {string} packageVersion Debian version of the image package
 * @property {string} dir the kernel's folder in the cache
 * @property {string} vmlinuz
 * @property {ModuleEntry[]} modules in load order
 * @property {string[]} builtin wanted modules that are built in
 * @property {string[]} missing optional modules this kernel has not got
 */

/**
 * @typedef {object} BusyboxFiles
 * @property {string} version
 * @property {string} path the static busybox binary
 */

/**
 * @typedef {object} Index
 * @property {number} format
 * @property {Record<string, { abi: string, packageVersion: string, resolvedAt: string }>} kernels cache folder
 *   (the image package's ABI name) and Debian version of each kernel name
 * @property {{ version: string, resolvedAt: string } | undefined} busybox
 */

/**
 * @param {string} dir
 * @returns {Promise<Index>}
 */
async function readIndex(dir) {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8'))
    if (parsed && parsed.format === INDEX_FORMAT && typeof parsed.kernels === 'object') return parsed
  } catch {
    // missing or corrupt: start afresh
  }
  return { format: INDEX_FORMAT, kernels: {}, busybox: undefined }
}

/**
 * @param {string} file
 * @param {string | Uint8Array} data
 */
async function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, file)
}

/**
 * Holds an exclusive lock on the cache (a folder with the owner's pid) while fn runs; waits for other processes.
 * @template T
 * @param {string} dir
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withCacheLock(dir, fn) {
  await mkdir(dir, { recursive: true })
  const lock = path.join(dir, '.lock')
  const started = Date.now()
  for (;;) {
    try {
      await mkdir(lock)
      await writeFile(path.join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error
      let owner = NaN
      try {
        owner = Number(await readFile(path.join(lock, 'pid'), 'utf8'))
      } catch {
        // being created or removed right now
      }
      let alive = true
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0)
        } catch (e) {
          alive = /** @type {NodeJS.ErrnoException} */ (e).code === 'EPERM'
        }
      } else {
        // no pid yet: stale only if the folder is old
        try {
          alive = Date.now() - (await stat(lock)).mtimeMs < 30_000
        } catch {
          alive = false
        }
      }
      if (!alive) {
        await rm(lock, { recursive: true, force: true })
        continue
      }
      if (Date.now() - started > 30 * 60_000)
        throw new Error(`gave up waiting for the VM cache lock ${lock} (held by pid ${owner})`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}

/**
 * A private apt root for one kernel name: its own sources list, lists, cache and an empty dpkg status.
 * @param {string} cache
 * @param {string} name
 * @param {KernelSpec} spec
 */
async function aptRoot(cache, name, spec) {
  const root = path.join(cache, 'apt', name)
  await mkdir(path.join(root, 'lists', 'partial'), { recursive: true })
  await mkdir(path.join(root, 'cache', 'archives', 'partial'), { recursive: true })
  const signedBy = existsSync(KEYRING) ? ` [signed-by=${KEYRING}]` : ''
  const sources = spec.sources.map(([mirror, suite]) => `deb${signedBy} ${mirror} ${suite} main\n`).join('')
  const sourcesFile = path.join(root, 'sources.list')
  const current = await readFile(sourcesFile, 'utf8').catch(() => '')
  if (current !== sources) {
    await writeAtomic(sourcesFile, sources)
    // other sources: the lists no longer match
    await rm(path.join(root, 'updated'), { force: true })
  }
  const status = path.join(root, 'status')
  if (!existsSync(status)) await writeFile(status, '')
  const options = [
    `Dir::Etc::SourceList=${sourcesFile}`,
    'Dir::Etc::SourceParts=/dev/null',
    'Dir::Etc::Preferences=/dev/null',
    'Dir::Etc::PreferencesParts=/dev/null',
    `Dir::State=${root}`,
    `Dir::State::Lists=${path.join(root, 'lists')}`,
    `Dir::State::status=${status}`,
    `Dir::Cache=${path.join(root, 'cache')}`,
    'APT::Architecture=amd64',
    'APT::Architectures::=amd64',
    'APT::Sandbox::User=root',
    'Acquire::Languages=none',
    'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false',
    'Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false',
    'Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false',
    'Acquire::IndexTargets::deb::CNF::DefaultEnabled=false',
    'Acquire::Retries=3',
  ].flatMap((o) => ['-o', o])

  /**
   * @param {string} tool
   * @param {string[]} args
   * @param {string} [cwd]
   * @param {boolean} [all] return stdout and stderr together
   */
  const run = async (tool, args, cwd, all = false) => {
    const result = await execa(tool, [...options, ...args], {
      cwd,
      reject: false,
      stdin: 'ignore',
      all: true,
      env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    })
    if (result.exitCode !== 0) {
      throw new Error(
        `${tool} ${args.join(' ')} failed (exit ${result.exitCode}) for the ${name} kernel, sources ${spec.sources.map((s) => s.join(' ')).join(', ')}:\n${tail(result.all ?? '', 20)}`,
      )
    }
    return all ? (result.all ?? '') : result.stdout
  }
  return { root, run }
}

/**
 * @param {string} text `apt-cache show` output of one version
 * @returns {Record<string, string>}
 */
function parseControl(text) {
  /** @type {Record<string, string>} */
  const fields = {}
  let key = ''
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && key) fields[key] += `\n${line.trim()}`
    else {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line)
      if (m) {
        key = m[1]
        fields[key] = m[2]
      }
    }
  }
  return fields
}

/**
 * Package names of a Depends/Pre-Depends field (first alternative of each).
 * @param {string | undefined} field
 */
function dependsNames(field) {
  if (!field) return []
  return field
    .split(',')
    .map(
      (part) =>
        part
          .split('|')[0]
          .trim()
          .split(/[\s(:]/)[0],
    )
    .filter(Boolean)
}

/**
 * Resolves which packages make up the kernel of one name: from `linux-image-amd64` to the versioned image
 * package and its linux-* dependencies of the same ABI (from 7.x: binary, modules, base).
 * @param {(tool: string, args: string[], cwd?: string, all?: boolean) => Promise<string>} run
 * @param {string} name
 */
async function resolveKernelPackages(run, name) {
  const meta = parseControl(await run('apt-cache', ['show', '--no-all-versions', 'linux-image-amd64']))
  const image = dependsNames(meta.Depends).find((n) => /^linux-image-\d/.test(n))
  if (!image)
    throw new Error(
      `linux-image-amd64 ${meta.Version ?? ''} of ${name} depends on no versioned linux-image package (Depends: ${meta.Depends})`,
    )
  const abi = image.slice('linux-image-'.length).replace(/-unsigned$/, '')
  /** @type {Map<string, string>} */
  const packages = new Map()
  const queue = [image]
  while (queue.length > 0) {
    const pkg = /** @type {string} */ (queue.shift())
    if (packages.has(pkg)) continue
    const fields = parseControl(await run('apt-cache', ['show', '--no-all-versions', pkg]))
    packages.set(pkg, fields.Version)
    for (const dep of [...dependsNames(fields.Depends), ...dependsNames(fields['Pre-Depends'])]) {
      if (dep.startsWith('linux-') && dep.includes(abi) && !packages.has(dep)) queue.push(dep)
    }
  }
  return { abi, packageVersion: /** @type {string} */ (packages.get(image)), packages }
}

/**
 * apt-get update of a private root, unless its lists are fresh (1 h) and no refresh is asked for.
 * @param {string} root
 * @param {(tool: string, args: string[], cwd?: string, all?: boolean) => Promise<string>} run
 * @param {boolean} force
 * @param {(line: string) => void} log
 */
async function updateLists(root, run, force, log) {
  const stamp = path.join(root, 'updated')
  try {
    // fresh enough: an hour for a normal fetch; for a refresh, 5 minutes (several processes asked at once)
    if (Date.now() - (await stat(stamp)).mtimeMs < (force ? 300_000 : 3600_000)) return
  } catch {
    // never updated
  }
  const output = await run('apt-get', ['-q', 'update'], undefined, true)
  // apt-get update exits 0 when indexes could not be fetched: look for that, and for an empty result
  const failed = output.split('\n').filter((l) => /^(W|E|Err):|Failed to fetch|Some index files failed/.test(l))
  const lists = await readdir(path.join(root, 'lists')).catch(() => [])
  const incomplete = failed.some((l) => /Failed to fetch|Some index files failed|^Err:/.test(l))
  if (!lists.some((f) => f.includes('_Packages'))) {
    throw new Error(`apt-get update could not fetch the package indexes:\n${tail(failed.join('\n') || output, 12)}`)
  }
  // some indexes are there (maybe older ones): go on with them, and try again next time
  if (incomplete) log(`apt-get update was incomplete, going on with the indexes it has:\n${tail(failed.join('\n'), 6)}`)
  else await writeFile(stamp, new Date().toISOString())
}

/**
 * @param {string} dir
 * @returns {AsyncGenerator<string>}
 */
async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(full)
    else yield full
  }
}

/**
 * Decompresses a kernel module file (.ko, .ko.xz, .ko.zst, .ko.gz).
 * @param {string} file
 * @returns {Promise<Buffer>}
 */
async function readModule(file) {
  if (file.endsWith('.ko')) return readFile(file)
  if (file.endsWith('.gz')) return gunzipSync(await readFile(file))
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined
  if (!tool) throw new Error(`unknown module compression: ${file}`)
  if (!(await which(tool))) {
    throw new Error(
      `${tool} is needed to decompress ${path.basename(file)}; install it with: apt-get install -y ${tool === 'xz' ? 'xz-utils' : 'zstd'}`,
    )
  }
  const result = await execa(tool, ['-dc', file], { encoding: 'buffer', stdin: 'ignore', maxBuffer: 512 * 1024 * 1024 })
  return Buffer.from(result.stdout)
}

/**
 * The `depends=` entry of an ELF kernel module's .modinfo section.
 * @param {Buffer} elf
 * @param {string} label for errors
 * @returns {string[]}
 */
export function moduleDepends(elf, label) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new Error(`${label}: not a little-endian ELF64 module`)
  const shoff = Number(elf.readBigUInt64LE(0x28))
  const shentsize = elf.readUInt16LE(0x3a)
  const shnum = elf.readUInt16LE(0x3c)
  const shstrndx = elf.readUInt16LE(0x3e)
  /** @param {number} i */
  const section = (i) => {
    const base = shoff + i * shentsize
    return {
      name: elf.readUInt32LE(base),
      offset: Number(elf.readBigUInt64LE(base + 0x18)),
      size: Number(elf.readBigUInt64LE(base + 0x20)),
    }
  }
  const names = section(shstrndx)
  for (let i = 0; i < shnum; i++) {
    const s = section(i)
    const start = names.offset + s.name
    const end = elf.indexOf(0, start)
    if (elf.toString('latin1', start, end) !== '.modinfo') continue
    for (const entry of elf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      if (entry.startsWith('depends='))
        return entry
          .slice('depends='.length)
          .split(',')
          .map((d) => d.trim().replace(/-/g, '_'))
          .filter(Boolean)
    }
    return []
  }
  throw new Error(`${label}: no .modinfo section`)
}

/**
 * Picks the wanted modules (and their dependencies) out of an extracted kernel package tree into `dest`,
 * decompressed, in load order.
 * @param {string} modulesDir the extracted lib/modules/RELEASE
 * @param {string} dest
 * @param {string} release
 * @param {{ required: readonly string[], optional: readonly string[] }} [wanted] default GUEST_MODULES
 */
async function collectModules(modulesDir, dest, release, wanted = GUEST_MODULES) {
  /** @type {Map<string, string>} */
  const byName = new Map()
  for await (const file of walk(path.join(modulesDir, 'kernel'))) {
    const m = /^(.*)\.ko(\.(xz|zst|gz))?$/.exec(path.basename(file))
    if (m) byName.set(m[1].replace(/-/g, '_'), file)
  }
  const builtinText = await readFile(path.join(modulesDir, 'modules.builtin'), 'utf8').catch(() => '')
  const builtin = new Set(
    builtinText
      .split('\n')
      .filter(Boolean)
      .map((l) =>
        path
          .basename(l)
          .replace(/\.ko.*$/, '')
          .replace(/-/g, '_'),
      ),
  )

  /** @type {ModuleEntry[]} */
  const order = []
  /** @type {Set<string>} */
  const visiting = new Set()
  /** @type {Set<string>} */
  const done = new Set()
  /** @type {string[]} */
  const builtinWanted = []
  /** @type {string[]} */
  const missing = []

  /**
   * @param {string} name
   * @param {string[]} chain
   * @returns {Promise<boolean>}
   */
  const load = async (name, chain) => {
    if (done.has(name)) return true
    if (visiting.has(name)) throw new Error(`module dependency cycle in ${release}: ${[...chain, name].join(' -> ')}`)
    const file = byName.get(name)
    if (!file) return builtin.has(name)
    visiting.add(name)
    const elf = await readModule(file)
    for (const dep of moduleDepends(elf, path.basename(file))) {
      if (!(await load(dep, [...chain, name])))
        throw new Error(`${release}: module ${name} depends on ${dep}, which is neither a module nor built in`)
    }
    visiting.delete(name)
    done.add(name)
    const target = `${String(order.length).padStart(2, '0')}-${name}.ko`
    await writeFile(path.join(dest, target), elf)
    order.push({ name, file: target })
    return true
  }

  for (const name of [...wanted.required, ...wanted.optional]) {
    const required = wanted.required.includes(name)
    if (!byName.has(name) && builtin.has(name)) {
      builtinWanted.push(name)
      continue
    }
    if (!(await load(name, []))) {
      if (required)
        throw new Error(`kernel ${release} has no ${name} (neither a module nor built in); the guest needs it`)
      missing.push(name)
    }
  }
  return { modules: order, builtin: builtinWanted, missing }
}

/**
 * Downloads and unpacks one kernel (by its package ABI name, e.g. 6.1.0-41-amd64) into the cache, unless it is
 * already there.
 * @param {string} cache
 * @param {string} name
 * @param {{ abi: string, packageVersion: string, packages: Map<string, string> }} resolved
 * @param {(tool: string, args: string[], cwd?: string, all?: boolean) => Promise<string>} run
 * @param {(line: string) => void} log
 */
async function extractKernel(cache, name, resolved, run, log) {
  const dir = path.join(cache, 'kernels', resolved.abi)
  const manifestFile = path.join(dir, 'manifest.json')
  const existing = await readManifest(manifestFile)
  if (existing && existing.packageVersion === resolved.packageVersion) return
  const work = path.join(cache, 'tmp', `${resolved.abi}-${process.pid}`)
  await rm(work, { recursive: true, force: true })
  await mkdir(path.join(work, 'debs'), { recursive: true })
  try {
    const wanted = [...resolved.packages].map(([pkg, version]) => `${pkg}=${version}`)
    log(
      `downloading ${name} kernel ${resolved.abi} (${resolved.packageVersion}): ${[...resolved.packages.keys()].join(', ')}`,
    )
    await run('apt-get', ['-q', 'download', ...wanted], path.join(work, 'debs'))
    const tree = path.join(work, 'tree')
    await mkdir(tree)
    for (const deb of await readdir(path.join(work, 'debs'))) {
      if (!deb.endsWith('.deb')) continue
      await execa('dpkg-deb', ['-x', path.join(work, 'debs', deb), tree], { stdin: 'ignore' })
    }
    await rm(path.join(work, 'debs'), { recursive: true, force: true })
    /** @type {string[]} */
    const moduleDirs = []
    for (const base of [path.join(tree, 'usr/lib/modules'), path.join(tree, 'lib/modules')]) {
      for (const entry of await readdir(base).catch(() => [])) {
        if (existsSync(path.join(base, entry, 'kernel'))) moduleDirs.push(path.join(base, entry))
      }
    }
    // the folder's name is the kernel's `uname -r`; prefer the one named like the package
    const modulesDir = moduleDirs.find((d) => path.basename(d) === resolved.abi) ?? moduleDirs[0]
    if (!modulesDir)
      throw new Error(
        `the ${name} kernel packages (${[...resolved.packages.keys()].join(', ')}) hold no lib/modules/*/kernel`,
      )
    const release = path.basename(modulesDir)
    const vmlinuz = [path.join(modulesDir, 'vmlinuz'), path.join(tree, 'boot', `vmlinuz-${release}`)].find((f) =>
      existsSync(f),
    )
    if (!vmlinuz) throw new Error(`the ${name} kernel packages hold no vmlinuz (looked in ${modulesDir} and boot/)`)
    const config = [path.join(modulesDir, 'config'), path.join(tree, 'boot', `config-${release}`)].find((f) =>
      existsSync(f),
    )

    const staging = path.join(work, 'out')
    await mkdir(path.join(staging, 'modules'), { recursive: true })
    const picked = await collectModules(modulesDir, path.join(staging, 'modules'), release)
    await copyFile(vmlinuz, path.join(staging, 'vmlinuz'))
    if (config) await copyFile(config, path.join(staging, 'config'))
    /** @type {Omit<KernelFiles, 'name' | 'dir' | 'vmlinuz'> & { format: number }} */
    const manifest = { format: EXTRACT_FORMAT, release, packageVersion: resolved.packageVersion, ...picked }
    await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await rm(dir, { recursive: true, force: true })
    await mkdir(path.dirname(dir), { recursive: true })
    await rename(staging, dir)
    log(`cached ${name} kernel ${release}: ${picked.modules.map((m) => m.name).join(' ')}`)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * @param {string} file
 * @returns {Promise<(Omit<KernelFiles, 'name' | 'dir' | 'vmlinuz'> & { format: number }) | undefined>}
 */
async function readManifest(file) {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8'))
    if (parsed.format === EXTRACT_FORMAT && existsSync(path.join(path.dirname(file), 'vmlinuz'))) return parsed
  } catch {
    // not there
  }
  return undefined
}

/**
 * Downloads busybox-static with the apt root of a kernel name and keeps its binary.
 * @param {string} cache
 * @param {(tool: string, args: string[], cwd?: string, all?: boolean) => Promise<string>} run
 * @param {(line: string) => void} log
 */
async function fetchBusybox(cache, run, log) {
  const fields = parseControl(await run('apt-cache', ['show', '--no-all-versions', 'busybox-static']))
  const version = fields.Version
  const dir = path.join(cache, 'busybox', version.replace(/[^A-Za-z0-9.+~-]/g, '_'))
  const binary = path.join(dir, 'busybox')
  if (existsSync(binary)) return version
  const work = path.join(cache, 'tmp', `busybox-${process.pid}`)
  await rm(work, { recursive: true, force: true })
  await mkdir(work, { recursive: true })
  try {
    log(`downloading busybox-static ${version}`)
    await run('apt-get', ['-q', 'download', `busybox-static=${version}`], work)
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'))
    if (!deb) throw new Error('apt-get download busybox-static left no .deb')
    await execa('dpkg-deb', ['-x', path.join(work, deb), path.join(work, 'tree')], { stdin: 'ignore' })
    const found = ['bin/busybox', 'usr/bin/busybox'].map((p) => path.join(work, 'tree', p)).find((p) => existsSync(p))
    if (!found) throw new Error(`busybox-static ${version} holds no bin/busybox`)
    await mkdir(dir, { recursive: true })
    await copyFile(found, `${binary}.tmp`)
    await rename(`${binary}.tmp`, binary)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return version
}

/**
 * @param {string} cache
 * @param {string} version
 * @returns {BusyboxFiles}
 */
function busyboxFiles(cache, version) {
  return { version, path: path.join(cache, 'busybox', version.replace(/[^A-Za-z0-9.+~-]/g, '_'), 'busybox') }
}

/**
 * @param {string} name
 * @returns {KernelSpec}
 */
export function kernelSpec(name) {
  const spec = Object.hasOwn(KERNELS, name) ? KERNELS[name] : undefined
  if (!spec)
    throw new Error(`unknown kernel name ${JSON.stringify(name)}: use one of ${Object.keys(KERNELS).join(', ')}`)
  return spec
}

/**
 * Makes sure the kernel of `name` and busybox are in the cache and returns their files. With a cached kernel
 * (see index.json) nothing is downloaded and apt-get is not run, unless NLMONCTL_VM_REFRESH is set.
 * @param {string} name
 * @param {{ log?: (line: string) => void, refresh?: boolean }} [options]
 * @returns {Promise<{ kernel: KernelFiles, busybox: BusyboxFiles }>}
 */
export async function fetchKernel(name, options = {}) {
  const spec = kernelSpec(name)
  const log = options.log ?? (() => {})
  const refresh = options.refresh ?? refreshRequested()
  const cache = cacheDir()

  const fromIndex = async () => {
    const index = await readIndex(cache)
    const entry = index.kernels[name]
    if (!entry || !index.busybox) return undefined
    const dir = path.join(cache, 'kernels', entry.abi)
    const manifest = await readManifest(path.join(dir, 'manifest.json'))
    const busybox = busyboxFiles(cache, index.busybox.version)
    if (!manifest || manifest.packageVersion !== entry.packageVersion || !existsSync(busybox.path)) return undefined
    /** @type {KernelFiles} */
    const kernel = {
      name,
      release: manifest.release,
      packageVersion: manifest.packageVersion,
      dir,
      vmlinuz: path.join(dir, 'vmlinuz'),
      modules: manifest.modules,
      builtin: manifest.builtin,
      missing: manifest.missing,
    }
    return { kernel, busybox }
  }

  if (!refresh) {
    const cached = await fromIndex()
    if (cached) return cached
  }
  await withCacheLock(cache, async () => {
    if (!refresh && (await fromIndex())) return // another process fetched it meanwhile
    // work folders of fetches that died half-way (only the lock holder works there)
    await rm(path.join(cache, 'tmp'), { recursive: true, force: true })
    const { root, run } = await aptRoot(cache, name, spec)
    try {
      await updateLists(root, run, refresh, log)
    } catch (error) {
      throw new Error(
        `the ${name} kernel is not in the cache (${cache}) and Debian's archive could not be read (${spec.sources.map((s) => `${s[0]} ${s[1]}`).join(', ')}): ` +
          `fetching needs network access to the Debian archive (NLMONCTL_DEBIAN_MIRROR picks another mirror), or a filled cache: run \`npm run vm:fetch\` where the archive is reachable and point NLMONCTL_VM_CACHE at that cache\n${/** @type {Error} */ (error).message}`,
      )
    }
    let resolved = await resolveKernelPackages(run, name)
    try {
      await extractKernel(cache, name, resolved, run, log)
    } catch (error) {
      if (refresh) throw error
      // lists up to an hour old may name a version the archive no longer has: refresh once and retry
      log(
        `fetching the ${name} kernel failed (${/** @type {Error} */ (error).message.split('\n')[0]}); refreshing the lists and retrying`,
      )
      await rm(path.join(root, 'updated'), { force: true })
      await updateLists(root, run, true, log)
      resolved = await resolveKernelPackages(run, name)
      await extractKernel(cache, name, resolved, run, log)
    }
    const index = await readIndex(cache)
    const now = new Date().toISOString()
    const oldAbi = index.kernels[name]?.abi
    const oldBusybox = index.busybox?.version
    // any busybox-static will do: it is fetched once, with the first kernel, and kept across refreshes
    if (!index.busybox || !existsSync(busyboxFiles(cache, index.busybox.version).path)) {
      index.busybox = { version: await fetchBusybox(cache, run, log), resolvedAt: now }
    }
    index.kernels[name] = { abi: resolved.abi, packageVersion: resolved.packageVersion, resolvedAt: now }
    await writeAtomic(path.join(cache, 'index.json'), `${JSON.stringify(index, null, 2)}\n`)
    await pruneReplaced(cache, index, oldAbi, oldBusybox)
  })
  const done = await fromIndex()
  if (!done) throw new Error(`the ${name} kernel is still not complete in ${cache} after fetching it`)
  return done
}

/**
 * After a refresh moved a kernel name (or busybox) to a new version: removes the version it replaced, unless
 * another kernel name still uses it.
 * @param {string} cache
 * @param {Index} index
 * @param {string | undefined} oldAbi
 * @param {string | undefined} oldBusybox
 */
async function pruneReplaced(cache, index, oldAbi, oldBusybox) {
  if (oldAbi && !Object.values(index.kernels).some((k) => k.abi === oldAbi)) {
    await rm(path.join(cache, 'kernels', oldAbi), { recursive: true, force: true })
  }
  if (oldBusybox && index.busybox && oldBusybox !== index.busybox.version) {
    await rm(path.dirname(busyboxFiles(cache, oldBusybox).path), { recursive: true, force: true })
  }
}

// vm/tools.js fetches userspace tools and extra modules through the same private apt roots
export {
  writeAtomic,
  withCacheLock,
  aptRoot,
  updateLists,
  parseControl,
  dependsNames,
  resolveKernelPackages,
  collectModules,
}
