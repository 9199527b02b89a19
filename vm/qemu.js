// @ts-check
// Makes sure `qemu-system-x86_64` is on this machine: Debian's `qemu-system-x86`, installed with apt-get as root.
import { ensurePrograms } from './apt.js'

const QEMU_BINARY = 'qemu-system-x86_64'
const QEMU_PACKAGE = 'qemu-system-x86'

/** @type {Promise<string> | undefined} */
let qemuPromise

/**
 * Returns the path of qemu-system-x86_64, installing Debian's qemu-system-x86 (no recommends) when it is missing.
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<string>}
 */
export function ensureQemu(options = {}) {
  qemuPromise ??= ensurePrograms([{ program: QEMU_BINARY, pkg: QEMU_PACKAGE }], options)
    .then((found) => /** @type {string} */ (found.get(QEMU_BINARY)))
    .catch((error) => {
      qemuPromise = undefined
      throw error
    })
  return qemuPromise
}
