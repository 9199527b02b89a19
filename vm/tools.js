// @ts-check
// Userspace tools and extra kernel modules for the guest, fetched the way kernels.js fetches kernels: a private
// apt root, `apt-get download`, `dpkg-deb -x`, nothing installed on this machine. The guest runs this machine's
// root, so a tool this machine lacks (iw, ethtool, wg, conntrack) is unpacked into the cache with whichever of
// its libraries this machine lacks, and run from there (PATH + LD_LIBRARY_PATH). Modules the boot does not load
// (mac80211_hwsim, wireguard, …) are taken from the guest kernel's own packages and loaded on demand.
import { execa } from 'execa'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  aptRoot,
  cacheDir,
  collectModules,
  dependsNames,
  fetchKernel,
  kernelSpec,
  parseControl,
  resolveKernelPackages,
  updateLists,
  withCacheLock,
  writeAtomic,
} from './kernels.js'

/** The Debian release whose tools match this machine's root (Debian 12), and its apt sources (kernels.js). */
export const TOOLS_RELEASE = 'bookworm'

/** Packages the corpus tests run in the guest that this machine does not install. */
export const GUEST_TOOLS = Object.freeze(['iw', 'ethtool', 'wireguard-tools', 'conntrack'])

const TOOLS_FORMAT = 1
const MODULES_FORMAT = 1

/**
 * @typedef {object} Tools
 * @property {string} dir the unpacked packages' folder in the cache
 * @property {string} bin a folder of links to every program of the packages (put it first on PATH)
 * @property {string} lib a folder of links to their shared libraries (LD_LIBRARY_PATH)
 * @property {string[]} packages `name=version` of what was unpacked (the tools and the libraries this machine lacks)
 */

/**
 * Whether this machine has a package installed (dpkg's own status).
 * @param {string} name
 */
async function installedHere(name) {
  const result = await execa('dpkg-query', ['-W', '-f=${Status}', name], { reject: false, stdin: 'ignore' })
  return (
    result.exitCode === 0 && /\binstalled$/.test(result.stdout) && !/not-installed|config-files/.test(result.stdout)
  )
}

/**
 * The packages to unpack: the wanted ones, and every Depends/Pre-Depends (first alternative) this machine lacks.
 * @param {(tool: string, args: string[], cwd?: string, all?: boolean) => Promise<string>} run
 * @param {readonly string[]} wanted
 */
async function resolveTools(run, wanted) {
  /** @type {Map<string, string>} */
  const packages = new Map()
  const queue = [...wanted]
  while (queue.length > 0) {
    const pkg = /** @type {string} */ (queue.shift())
    if (packages.has(pkg)) continue
    const fields = parseControl(await run('apt-cache', ['show', '--no-all-versions', pkg]))
    if (!fields.Version) throw new Error(`apt-cache show ${pkg} (${TOOLS_RELEASE}) gave no version`)
    packages.set(pkg, fields.Version)
    for (const dep of [...dependsNames(fields.Depends), ...dependsNames(fields['Pre-Depends'])]) {
      if (!packages.has(dep) && !(await installedHere(dep))) queue.push(dep)
    }
  }
  return packages
}

/**
 * @param {string} file
 * @param {number} format
 */
async function readJson(file, format) {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8'))
    if (parsed && parsed.format === format) return parsed
  } catch {
    // missing or damaged: fetch again
  }
  return undefined
}

/**
 * @param {string} dir
 * @param {string[]} packages
 * @returns {Tools}
 */
function toolsAt(dir, packages) {
  return { dir, bin: path.join(dir, 'bin'), lib: path.join(dir, 'lib'), packages }
}

/**
 * Links every regular program and shared library of an unpacked tree into bin/ and lib/.
 * @param {string} tree
 * @param {string} dir
 */
async function linkTree(tree, dir) {
  for (const [sub, from] of [
    ['bin', ['usr/bin', 'usr/sbin', 'bin', 'sbin']],
    ['lib', ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu']],
  ]) {
    await mkdir(path.join(dir, /** @type {string} */ (sub)), { recursive: true })
    for (const rel of from) {
      for (const name of await readdir(path.join(tree, rel)).catch(() => [])) {
        if (sub === 'lib' && !/\.so(\.|$)/.test(name)) continue
        const link = path.join(dir, /** @type {string} */ (sub), name)
        if (!existsSync(link)) await symlink(path.relative(path.dirname(link), path.join(tree, rel, name)), link)
      }
    }
  }
}

/**
 * Makes sure GUEST_TOOLS (and the libraries this machine lacks) are unpacked in the cache; with them cached,
 * no apt and no network (NLMONCTL_VM_REFRESH=1 resolves again).
 * `cache` puts them (and the private apt root) under another folder than the guest cache (the BPF toolchain).
 * @param {{ log?: (line: string) => void, packages?: readonly string[], cache?: string }} [options]
 * @returns {Promise<Tools>}
 */
export async function fetchTools(options = {}) {
  const log = options.log ?? (() => {})
  const wanted = [...(options.packages ?? GUEST_TOOLS)].sort()
  const cache = options.cache ?? cacheDir()
  const key = createHash('sha256').update(wanted.join(',')).digest('hex').slice(0, 16)
  const dir = path.join(cache, 'tools', key)
  const manifestFile = path.join(dir, 'manifest.json')
  const refresh = /^(1|true|yes)$/.test(process.env.NLMONCTL_VM_REFRESH ?? '')
  const cached = async () => {
    const manifest = await readJson(manifestFile, TOOLS_FORMAT)
    return manifest && existsSync(path.join(dir, 'bin')) ? toolsAt(dir, manifest.packages) : undefined
  }
  if (!refresh) {
    const found = await cached()
    if (found) return found
  }
  await withCacheLock(cache, async () => {
    if (!refresh && (await cached())) return
    const { root, run } = await aptRoot(cache, TOOLS_RELEASE, kernelSpec(TOOLS_RELEASE))
    // The lists this apt root already has are used as they are (the bookworm kernel's own, shared): updating them
    // up front could move them past the cached bookworm kernel, whose modules fetchModules then could not find.
    // Lists are fetched when there are none, when a refresh is asked for, or when a download fails.
    const hasLists = (await readdir(path.join(root, 'lists')).catch(() => [])).some((f) => f.includes('_Packages'))
    if (refresh || !hasLists) await updateLists(root, run, refresh, log)
    const work = path.join(cache, 'tmp', `tools-${process.pid}`)
    await rm(work, { recursive: true, force: true })
    await mkdir(path.join(work, 'debs'), { recursive: true })
    try {
      /** @type {Map<string, string>} */
      let packages = new Map()
      const download = async () => {
        packages = await resolveTools(run, wanted)
        await run('apt-get', ['-q', 'download', ...[...packages].map(([p, v]) => `${p}=${v}`)], path.join(work, 'debs'))
      }
      try {
        await download()
      } catch (error) {
        // lists up to an hour old may name versions the archive no longer has: refresh once and retry
        log(`downloading ${wanted.join(' ')} failed (${/** @type {Error} */ (error).message.split('\n')[0]}); retrying`)
        await rm(path.join(root, 'updated'), { force: true })
        await updateLists(root, run, true, log)
        await download()
      }
      log(`unpacking ${[...packages].map(([p, v]) => `${p} ${v}`).join(', ')}`)
      const staging = path.join(work, 'out')
      const tree = path.join(staging, 'tree')
      await mkdir(tree, { recursive: true })
      for (const deb of await readdir(path.join(work, 'debs'))) {
        if (deb.endsWith('.deb'))
          await execa('dpkg-deb', ['-x', path.join(work, 'debs', deb), tree], { stdin: 'ignore' })
      }
      await linkTree(tree, staging)
      const list = [...packages].map(([p, v]) => `${p}=${v}`)
      await writeFile(
        path.join(staging, 'manifest.json'),
        `${JSON.stringify({ format: TOOLS_FORMAT, wanted, packages: list }, null, 2)}\n`,
      )
      await rm(dir, { recursive: true, force: true })
      await mkdir(path.dirname(dir), { recursive: true })
      await rename(staging, dir)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
  const done = await cached()
  if (!done) throw new Error(`the guest tools (${wanted.join(', ')}) are still not complete in ${dir} after fetching`)
  return done
}

/**
 * Makes sure the kernel of `kernelName` has the wanted modules (and their dependencies), decompressed, in load
 * order, in its cache folder (`extra-HASH/`), taken from the very packages its guest kernel came from. Returns
 * their absolute paths in load order (modules the boot already loaded may be among them: loading them again is
 * EEXIST, which loadModules ignores). A module the kernel has built in is no file and needs no loading.
 * @param {string} kernelName bookworm, trixie, sid, …
 * @param {readonly string[]} names module names (underscores)
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<{ files: string[], builtin: string[] }>}
 */
export async function fetchModules(kernelName, names, options = {}) {
  const log = options.log ?? (() => {})
  const { kernel } = await fetchKernel(kernelName, { log })
  const abi = path.basename(kernel.dir)
  const dir = path.join(
    kernel.dir,
    `extra-${createHash('sha256')
      .update([...names].sort().join(','))
      .digest('hex')
      .slice(0, 16)}`,
  )
  const manifestFile = path.join(dir, 'manifest.json')
  /** @returns {Promise<{ files: string[], builtin: string[] } | undefined>} */
  const cached = async () => {
    const manifest = await readJson(manifestFile, MODULES_FORMAT)
    if (!manifest || manifest.packageVersion !== kernel.packageVersion) return undefined
    return {
      files: manifest.modules.map((/** @type {{file: string}} */ m) => path.join(dir, m.file)),
      builtin: manifest.builtin,
    }
  }
  const found = await cached()
  if (found) return found
  const cache = cacheDir()
  await withCacheLock(cache, async () => {
    if (await cached()) return
    const { root, run } = await aptRoot(cache, kernelName, kernelSpec(kernelName))
    let resolved = await resolveKernelPackages(run, kernelName)
    if (resolved.abi !== abi || resolved.packageVersion !== kernel.packageVersion) {
      // the lists moved on since the kernel was cached: the packages of the cached kernel are what is needed
      await updateLists(root, run, false, log)
      resolved = await resolveKernelPackages(run, kernelName)
    }
    if (resolved.abi !== abi || resolved.packageVersion !== kernel.packageVersion)
      throw new Error(
        `the cached ${kernelName} kernel is ${abi} ${kernel.packageVersion} but Debian's lists now have ${resolved.abi} ${resolved.packageVersion}: refresh the kernel (NLMONCTL_VM_REFRESH=1 npm run vm:fetch) to load modules into it`,
      )
    const work = path.join(cache, 'tmp', `modules-${abi}-${process.pid}`)
    await rm(work, { recursive: true, force: true })
    await mkdir(path.join(work, 'debs'), { recursive: true })
    try {
      log(`downloading the ${kernelName} kernel ${abi} again for modules ${names.join(' ')}`)
      await run(
        'apt-get',
        ['-q', 'download', ...[...resolved.packages].map(([p, v]) => `${p}=${v}`)],
        path.join(work, 'debs'),
      )
      const tree = path.join(work, 'tree')
      await mkdir(tree)
      for (const deb of await readdir(path.join(work, 'debs'))) {
        if (deb.endsWith('.deb'))
          await execa('dpkg-deb', ['-x', path.join(work, 'debs', deb), tree], { stdin: 'ignore' })
      }
      const modulesDir = [
        path.join(tree, 'usr/lib/modules', kernel.release),
        path.join(tree, 'lib/modules', kernel.release),
      ].find((d) => existsSync(path.join(d, 'kernel')))
      if (!modulesDir) throw new Error(`the ${kernelName} kernel packages hold no lib/modules/${kernel.release}/kernel`)
      const staging = path.join(work, 'out')
      await mkdir(staging, { recursive: true })
      const picked = await collectModules(modulesDir, staging, kernel.release, { required: names, optional: [] })
      await writeAtomic(
        path.join(staging, 'manifest.json'),
        `${JSON.stringify({ format: MODULES_FORMAT, packageVersion: kernel.packageVersion, wanted: names, ...picked }, null, 2)}\n`,
      )
      await rm(dir, { recursive: true, force: true })
      await rename(staging, dir)
      log(`cached modules for ${abi}: ${picked.modules.map((m) => m.name).join(' ')}`)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  })
  const done = await cached()
  if (!done) throw new Error(`the modules ${names.join(', ')} of ${abi} are still not complete in ${dir}`)
  return done
}

/**
 * A shell command for the guest that loads module files in order with finit_module(2) (the guest has no kmod;
 * python3 of this machine's root makes the syscall). A module already loaded (EEXIST) is fine; any other
 * failure ends it with exit 1 naming the module and the errno.
 * @param {readonly string[]} files absolute .ko paths, in load order
 */
export function loadModulesCommand(files) {
  const script = [
    'import ctypes, os, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'for f in sys.argv[1:]:',
    '    fd = os.open(f, os.O_RDONLY)',
    '    r = libc.syscall(313, fd, b"", 0)',
    '    e = ctypes.get_errno()',
    '    os.close(fd)',
    '    if r != 0 and e != 17:',
    '        sys.exit(f"finit_module {os.path.basename(f)}: {os.strerror(e)}")',
  ].join('\n')
  const q = (/** @type {string} */ s) => `'${s.replace(/'/g, `'\\''`)}'`
  return `/usr/bin/python3 -c ${q(script)} ${files.map(q).join(' ')}`
}
