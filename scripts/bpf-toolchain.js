// @ts-check
// The compiler and headers the eBPF program (native/bpf/*.bpf.c) is built with: Debian bookworm's clang-14,
// libbpf-dev (bpf_helpers.h, bpf_tracing.h, bpf_core_read.h) and linux-libc-dev (linux/bpf.h), fetched like the
// guest tools (vm/tools.js: a private apt root, `apt-get download`, `dpkg-deb -x`) into a private cache, with
// whichever of their libraries this machine lacks. Nothing is installed system-wide.
//
// The one place that says where the toolchain is: after fetching, this writes native/bpf/toolchain.json
// (git-ignored), which native/build.rs reads in every cargo invocation (build, test, clippy).
import { execa } from 'execa'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fetchTools } from '../vm/tools.js'

/** The Debian packages of the toolchain (bookworm: the release this machine runs). */
export const BPF_PACKAGES = Object.freeze(['clang-14', 'libbpf-dev', 'linux-libc-dev'])

const root = fileURLToPath(new URL('..', import.meta.url))
/** What native/build.rs reads. */
export const TOOLCHAIN_FILE = path.join(root, 'native', 'bpf', 'toolchain.json')

/** The cache folder: NLMONCTL_BPF_CACHE, else ~/.cache/nlmonctl/bpf-toolchain. */
export function bpfCacheDir() {
  if (process.env.NLMONCTL_BPF_CACHE) return path.resolve(process.env.NLMONCTL_BPF_CACHE)
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(base, 'nlmonctl', 'bpf-toolchain')
}

/**
 * Makes sure the toolchain is in the cache and native/bpf/toolchain.json names it; with both in place, it
 * neither runs apt nor writes anything.
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function ensureBpfToolchain(options = {}) {
  const tools = await fetchTools({ packages: BPF_PACKAGES, cache: bpfCacheDir(), log: options.log })
  const tree = path.join(tools.dir, 'tree')
  const toolchain = {
    clang: path.join(tools.bin, 'clang-14'),
    libraryPath: tools.lib,
    // the multiarch folder holds asm/types.h, which linux/types.h includes
    include: [path.join(tree, 'usr', 'include'), path.join(tree, 'usr', 'include', 'x86_64-linux-gnu')],
    packages: tools.packages,
  }
  for (const needed of [toolchain.clang, path.join(toolchain.include[0], 'bpf', 'bpf_helpers.h')]) {
    if (!existsSync(needed)) throw new Error(`the BPF toolchain in ${tools.dir} lacks ${needed}`)
  }
  // clang must run from the cache: a library it needs that is neither on this machine nor fetched shows here
  const probe = await execa(toolchain.clang, ['--version'], {
    env: { LD_LIBRARY_PATH: toolchain.libraryPath },
    reject: false,
    stdin: 'ignore',
  })
  if (probe.exitCode !== 0)
    throw new Error(`${toolchain.clang} does not run: ${(probe.stderr || probe.stdout).split('\n')[0]}`)
  const text = `${JSON.stringify(toolchain, null, 2)}\n`
  const current = await readFile(TOOLCHAIN_FILE, 'utf8').catch(() => '')
  // rewritten only when it changes: build.rs reruns when it does
  if (current !== text) await writeFile(TOOLCHAIN_FILE, text)
  return toolchain
}
