// @ts-check
// Makes sure `qemu-system-x86_64` is on this machine: Debian's `qemu-system-x86`, installed with apt-get as root.
import { execa } from 'execa'
import { access, constants } from 'node:fs/promises'
import path from 'node:path'

const QEMU_BINARY = 'qemu-system-x86_64'
const QEMU_PACKAGE = 'qemu-system-x86'

/**
 * Finds an executable on PATH (plus the sbin folders root normally has).
 * @param {string} name
 * @returns {Promise<string | undefined>}
 */
export async function which(name) {
  const dirs = (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** @type {Promise<string> | undefined} */
let qemuPromise

/**
 * Returns the path of qemu-system-x86_64, installing Debian's qemu-system-x86 (no recommends) when it is missing.
 * Runs `apt-get update` only when the package cannot be found or installed with the lists as they are.
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<string>}
 */
export function ensureQemu(options = {}) {
  qemuPromise ??= findOrInstallQemu(options.log ?? (() => {})).catch((error) => {
    qemuPromise = undefined
    throw error
  })
  return qemuPromise
}

/**
 * @param {(line: string) => void} log
 * @returns {Promise<string>}
 */
async function findOrInstallQemu(log) {
  const found = await which(QEMU_BINARY)
  if (found) return found

  const howTo = `install it with: apt-get update && apt-get install -y --no-install-recommends ${QEMU_PACKAGE}`
  const aptGet = await which('apt-get')
  if (!aptGet)
    throw new Error(
      `${QEMU_BINARY} is missing and this machine has no apt-get to install ${QEMU_PACKAGE}; ${howTo} (Debian) or put ${QEMU_BINARY} on PATH`,
    )
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${QEMU_BINARY} is missing and installing ${QEMU_PACKAGE} needs root; as root, ${howTo}`)
  }

  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  const install = () =>
    execa(aptGet, ['install', '-y', '-q', '--no-install-recommends', QEMU_PACKAGE], {
      env,
      reject: false,
      stdin: 'ignore',
      all: true,
    })
  const update = () => execa(aptGet, ['update', '-q'], { env, reject: false, stdin: 'ignore', all: true })

  log(`${QEMU_BINARY} not found: installing ${QEMU_PACKAGE}`)
  const policy = await execa('apt-cache', ['policy', QEMU_PACKAGE], { reject: false, stdin: 'ignore' })
  const hasCandidate = /Candidate: (?!\(none\))\S+/.test(policy.stdout)
  /** @type {string[]} */
  const transcript = []
  if (!hasCandidate) {
    log('apt lists do not know the package: apt-get update')
    const result = await update()
    transcript.push(`$ apt-get update (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  }
  let result = await install()
  transcript.push(`$ apt-get install ${QEMU_PACKAGE} (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  if (result.exitCode !== 0 && hasCandidate) {
    // Stale lists (a 404 on the .deb): refresh once and retry.
    log('install failed with the current lists: apt-get update and retry')
    const upd = await update()
    transcript.push(`$ apt-get update (exit ${upd.exitCode})\n${tail(upd.all ?? '', 15)}`)
    result = await install()
    transcript.push(`$ apt-get install ${QEMU_PACKAGE} (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  }
  const installed = await which(QEMU_BINARY)
  if (result.exitCode !== 0 || !installed) {
    throw new Error(
      `${QEMU_BINARY} is missing and installing Debian's ${QEMU_PACKAGE} failed; ${howTo}\n${transcript.join('\n')}`,
    )
  }
  log(`installed ${installed}`)
  return installed
}

/**
 * @param {string} text
 * @param {number} lines
 */
export function tail(text, lines) {
  const all = text.replace(/\s+$/, '').split('\n')
  return all.slice(-lines).join('\n')
}
