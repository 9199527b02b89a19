// @ts-check
// Programs this machine lacks, installed from Debian's packages with apt-get as root (qemu for the guests, the
// capture tools the tests cross-check against), and the small helpers vm/ shares for running tools.
import { execa } from 'execa'
import { access, constants } from 'node:fs/promises'
import path from 'node:path'

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

/**
 * @param {string} text
 * @param {number} lines
 */
export function tail(text, lines) {
  const all = text.replace(/\s+$/, '').split('\n')
  return all.slice(-lines).join('\n')
}

/**
 * @typedef {object} Wanted
 * @property {string} program an executable that must be on PATH
 * @property {string} pkg the Debian package that ships it
 */

/**
 * Makes sure every `program` is on PATH, installing the Debian packages of those missing (no recommends) in one
 * apt-get run. Runs `apt-get update` only when a package cannot be found or installed with the lists as they are.
 * Returns each program's path, by name.
 * @param {Wanted[]} wanted
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<Map<string, string>>}
 */
export async function ensurePrograms(wanted, options = {}) {
  const log = options.log ?? (() => {})
  /** @type {Map<string, string>} */
  const found = new Map()
  for (const { program } of wanted) {
    const at = await which(program)
    if (at) found.set(program, at)
  }
  const missing = wanted.filter(({ program }) => !found.has(program))
  if (missing.length === 0) return found

  const names = missing.map(({ program }) => program).join(', ')
  const packages = [...new Set(missing.map(({ pkg }) => pkg))]
  const howTo = `install with: apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`
  const aptGet = await which('apt-get')
  if (!aptGet)
    throw new Error(`${names} missing and this machine has no apt-get; ${howTo} (Debian) or put them on PATH`)
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${names} missing and installing ${packages.join(' ')} needs root; as root, ${howTo}`)
  }

  const env = { DEBIAN_FRONTEND: 'noninteractive' }
  const install = () =>
    execa(aptGet, ['install', '-y', '-q', '--no-install-recommends', ...packages], {
      env,
      reject: false,
      stdin: 'ignore',
      all: true,
    })
  const update = () => execa(aptGet, ['update', '-q'], { env, reject: false, stdin: 'ignore', all: true })

  log(`${names} not found: installing ${packages.join(' ')}`)
  let known = true
  for (const pkg of packages) {
    const policy = await execa('apt-cache', ['policy', pkg], { reject: false, stdin: 'ignore' })
    known &&= /Candidate: (?!\(none\))\S+/.test(policy.stdout)
  }
  /** @type {string[]} */
  const transcript = []
  if (!known) {
    log('apt lists do not know every package: apt-get update')
    const result = await update()
    transcript.push(`$ apt-get update (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  }
  let result = await install()
  transcript.push(`$ apt-get install ${packages.join(' ')} (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  if (result.exitCode !== 0 && known) {
    // Stale lists (a 404 on a .deb): refresh once and retry.
    log('install failed with the current lists: apt-get update and retry')
    const upd = await update()
    transcript.push(`$ apt-get update (exit ${upd.exitCode})\n${tail(upd.all ?? '', 15)}`)
    result = await install()
    transcript.push(`$ apt-get install ${packages.join(' ')} (exit ${result.exitCode})\n${tail(result.all ?? '', 15)}`)
  }
  const still = []
  for (const { program } of missing) {
    const at = await which(program)
    if (at) found.set(program, at)
    else still.push(program)
  }
  if (result.exitCode !== 0 || still.length > 0) {
    throw new Error(
      `${still.join(', ') || names} missing and installing Debian's ${packages.join(' ')} failed; ${howTo}\n${transcript.join('\n')}`,
    )
  }
  log(`installed ${missing.map(({ program }) => found.get(program)).join(', ')}`)
  return found
}
