// @ts-check
// Real-kernel guests for nlmonctl's tests: Debian's stock kernels under QEMU (TCG), this machine's root shared
// read-only over 9p and chrooted, commands sent over a virtio-serial channel. See vm/README.md.
import { buildInitramfs } from './initramfs.js'
import { KERNELS, fetchKernel } from './kernels.js'
import { ensureQemu } from './qemu.js'

export { bootGuest, BootCrash, Guest, GuestCommandError, MAX_SLOWNESS, REPO_ROOT } from './guest.js'
export { KERNELS, cacheDir } from './kernels.js'
export { ensureQemu } from './qemu.js'
export { fetchTools, fetchModules, loadModulesCommand, GUEST_TOOLS } from './tools.js'

export const DEFAULT_KERNELS = Object.freeze(['bookworm', 'trixie', 'sid'])

/**
 * The kernels to test against: NLMONCTL_KERNELS, a comma-separated list of names (default bookworm,trixie,sid).
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string[]}
 */
export function kernelsFromEnv(env = process.env) {
  const raw = env.NLMONCTL_KERNELS
  const names =
    raw === undefined || raw.trim() === ''
      ? [...DEFAULT_KERNELS]
      : raw
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
  const unknown = names.filter((n) => !Object.hasOwn(KERNELS, n))
  if (unknown.length > 0) {
    throw new Error(
      `NLMONCTL_KERNELS names unknown kernel(s) ${unknown.join(', ')}: use a comma-separated list of ${Object.keys(KERNELS).join(', ')}`,
    )
  }
  return [...new Set(names)]
}

/**
 * The newest kernel of a list (experimental > sid > trixie > bookworm).
 * @param {string[]} names
 * @returns {string}
 */
export function newestKernel(names) {
  const order = Object.keys(KERNELS)
  const sorted = [...names].sort((a, b) => order.indexOf(b) - order.indexOf(a))
  if (sorted.length === 0) throw new Error('no kernel configured')
  return sorted[0]
}

/**
 * @typedef {object} PreparedKernel
 * @property {string} name
 * @property {string} release `uname -r` of the kernel
 * @property {string} packageVersion its Debian package version
 * @property {string} vmlinuz
 * @property {string} initramfs
 */

/**
 * Fetches and builds everything the given kernels need (QEMU, kernel, modules, busybox, initramfs), so that a
 * later bootGuest() only boots. Idempotent: with everything cached it touches no network.
 * @param {string[]} [kernels] default kernelsFromEnv()
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<PreparedKernel[]>}
 */
export async function prepare(kernels = kernelsFromEnv(), options = {}) {
  const log = options.log
  await ensureQemu({ log })
  /** @type {PreparedKernel[]} */
  const prepared = []
  for (const name of kernels) {
    const { kernel, busybox } = await fetchKernel(name, { log })
    const initramfs = await buildInitramfs(kernel, busybox)
    prepared.push({
      name,
      release: kernel.release,
      packageVersion: kernel.packageVersion,
      vmlinuz: kernel.vmlinuz,
      initramfs,
    })
  }
  return prepared
}
