// Wireshark's extcap contract (https://www.wireshark.org/docs/wsdg_html_chunked/ChCaptureExtcap.html),
// spoken by `nlmonctl extcap run`, and the launcher `extcap install` puts into Wireshark's extcap
// folder so that Wireshark finds it. Wireshark runs the launcher with the contract's arguments; the
// launcher runs this nlmonctl (absolute node + bin/run.js) as `extcap run "$@"`.
//
// Interfaces: one per network namespace — `nlmonctl` (Wireshark's own namespace) and `nlmonctl@NAME`
// for each name under /run/netns — rather than one interface with a namespace selector: Wireshark
// can then capture several namespaces at once (one merged capture), and `tshark -i nlmonctl@blue`
// needs no extcap preference. A namespace made later shows up when Wireshark refreshes its interfaces.

import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { prepareCapture, runCapture } from './capture.js'
import { NlmonctlError, usageError } from './errors.js'
import { oneShotApi } from './link-api.js'

/** The interface of Wireshark's own namespace; `nlmonctl@NAME` is the one of /run/netns/NAME. */
export const EXTCAP_INTERFACE = 'nlmonctl'
/** The launcher's file name in the extcap folder. */
export const LAUNCHER_NAME = 'nlmonctl'
/** The second line of every launcher we write: how uninstall (and a second install) knows it is ours. */
export const LAUNCHER_MARK =
  '# nlmonctl extcap launcher: written by `nlmonctl extcap install`, removed by `extcap uninstall`'
/** LINKTYPE_NETLINK, what every nlmonctl pcap carries. */
export const DLT_NETLINK = 253

// ---------------------------------------------------------------------------------------------
// The contract's answers: lines of `{key=value}` sentences. Values never hold braces (Wireshark's
// parser has no escape for them), so a namespace whose name has one is not offered.

const SAFE_VALUE = /^[^{}\n\r]*$/

/** The namespace an interface captures in (undefined: Wireshark's own), or a usage error. */
export function netnsOfInterface(iface: string): string | undefined {
  if (iface === EXTCAP_INTERFACE) return undefined
  const name = iface.startsWith(`${EXTCAP_INTERFACE}@`) ? iface.slice(EXTCAP_INTERFACE.length + 1) : ''
  if (name === '' || name.includes('/') || name === '.' || name === '..')
    throw usageError(
      `unknown extcap interface ${JSON.stringify(iface)}: nlmonctl's are "${EXTCAP_INTERFACE}" and "${EXTCAP_INTERFACE}@NAME" (NAME under /run/netns)`,
    )
  return name
}

/** The names under /run/netns that can be offered as interfaces, sorted. */
export function netnsNames(dir = '/run/netns'): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return [] // no namespace was ever named with `ip netns add`
  }
  return names.filter((n) => SAFE_VALUE.test(n) && !/\s/.test(n)).sort()
}

/** --extcap-interfaces (and --extcap-version alone): the extcap line, then one interface per namespace. */
export function interfacesLines(version: string, namespaces: readonly string[], help?: string): string[] {
  return [
    `extcap {version=${version}}${help ? `{help=${help}}` : ''}`,
    `interface {value=${EXTCAP_INTERFACE}}{display=Netlink (nlmon): this network namespace}`,
    ...namespaces.map(
      (ns) => `interface {value=${EXTCAP_INTERFACE}@${ns}}{display=Netlink (nlmon): network namespace ${ns}}`,
    ),
  ]
}

/** --extcap-dlts: the one link type. */
export function dltsLines(): string[] {
  return [`dlt {number=${DLT_NETLINK}}{name=NETLINK}{display=Linux netlink (nlmon)}`]
}

/** --extcap-config: the options Wireshark shows and passes back to --capture. */
export function configLines(): string[] {
  return [
    'arg {number=0}{call=--family}{display=Netlink families}{type=string}{required=false}' +
      '{tooltip=Comma-separated: route, generic, netfilter, sock_diag, xfrm, … or numbers; empty: all}',
    'arg {number=1}{call=--link}{display=Existing nlmon link}{type=string}{required=false}' +
      '{tooltip=Capture on this nlmon link (name or ifindex); empty: an ephemeral link is created and removed}',
  ]
}

// ---------------------------------------------------------------------------------------------
// extcap run

export interface ExtcapArgs {
  'extcap-interfaces'?: boolean
  'extcap-version'?: string
  'extcap-interface'?: string
  'extcap-dlts'?: boolean
  'extcap-config'?: boolean
  'extcap-reload-option'?: string
  'extcap-capture-filter'?: string
  capture?: boolean
  fifo?: string
  family?: string
  link?: string
}

/**
 * Wireshark passes `--extcap-version=4.0`; the contract also knows a bare `--extcap-version`. A flag
 * with an optional value is not something the one argv parser (oclif's rules) has: give it an empty one.
 */
export function normalizeExtcapArgv(argv: readonly string[]): string[] {
  return argv.map((word) => (word === '--extcap-version' ? '--extcap-version=' : word))
}

/** Answer one extcap call: the lines to print, or (with --capture) run the capture into the FIFO. */
export async function runExtcap(args: ExtcapArgs, version: string, netns: string | undefined): Promise<string[]> {
  if (netns !== undefined) throw usageError('extcap run takes no --netns: the interface names the namespace')
  if (args['extcap-interfaces'] || (args['extcap-version'] !== undefined && args['extcap-interface'] === undefined))
    return args['extcap-interfaces'] ? interfacesLines(version, netnsNames()) : interfacesLines(version, []).slice(0, 1)
  const iface = args['extcap-interface']
  if (iface === undefined)
    throw usageError(
      'extcap run is what Wireshark runs: give --extcap-interfaces, or --extcap-interface IF with --extcap-dlts, --extcap-config or --capture',
    )
  const ns = netnsOfInterface(iface)
  if (args['extcap-dlts']) return dltsLines()
  if (args['extcap-config']) return args['extcap-reload-option'] === undefined ? configLines() : []
  if (!args.capture) throw usageError('give --extcap-dlts, --extcap-config or --capture with --extcap-interface')
  if (args.fifo === undefined || args.fifo === '') throw usageError('--capture needs --fifo PATH')
  if ((args['extcap-capture-filter'] ?? '') !== '')
    throw usageError('nlmonctl takes no capture filter: choose families in the interface options')
  await captureIntoFifo(ns, args.fifo, blankToUndefined(args.family), blankToUndefined(args.link))
  return []
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

/** The capture Wireshark asked for: pcapng into its FIFO until it stops us (SIGTERM) or stops reading (EPIPE). */
async function captureIntoFifo(
  netns: string | undefined,
  fifo: string,
  family: string | undefined,
  link: string | undefined,
): Promise<void> {
  let stat: Stats
  try {
    stat = lstatSync(fifo)
  } catch {
    throw new NlmonctlError('NOT_FOUND', `--fifo ${fifo}: no such file`)
  }
  // Wireshark made the FIFO: a capture never creates or replaces a file here.
  if (!stat.isFIFO()) throw usageError(`--fifo ${fifo} is not a FIFO`)
  // Every check capture makes (families, --link), then the one capture loop; the native writer opens an
  // existing FIFO as it is (pcapio.rs open_output), and a reader gone (EPIPE) is a normal end.
  const plan = await prepareCapture({ family, link }, false)
  // pcapng: Wireshark then shows each packet's process (the packet comment) and the link's name.
  await runCapture(oneShotApi(netns), { ...plan, write: fifo, pcapng: true, quiet: true })
}

// ---------------------------------------------------------------------------------------------
// extcap install / uninstall

export type Scope = 'user' | 'system'

/** What `tshark -G folders` (or `wireshark -G folders`) and `--version` said. */
export interface WiresharkInfo {
  program: string
  folders: string
  version: string
}

/** `Name:<tab>path` lines → map (a name seen twice keeps its first path). */
export function parseFolders(text: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^([^:]+):\s+(\S.*)$/.exec(line.trimEnd())
    if (match && !map.has(match[1].trim())) map.set(match[1].trim(), match[2])
  }
  return map
}

/** [major, minor] from `TShark (Wireshark) 4.0.17 …`. */
export function parseVersion(text: string): [number, number] | undefined {
  const match = /\b(\d+)\.(\d+)\.\d+/.exec(text)
  return match ? [Number(match[1]), Number(match[2])] : undefined
}

/**
 * The extcap folder of a scope. Wireshark ≥ 4.1 names both ("Personal Extcap path", "Global Extcap
 * path"); 4.0 names only the global one ("Extcap path") and looks for personal extcaps in its
 * personal configuration folder's extcap/ (~/.config/wireshark/extcap, $XDG_CONFIG_HOME honoured).
 */
export function extcapDir(info: WiresharkInfo, scope: Scope, home = homedir()): string | undefined {
  const folders = parseFolders(info.folders)
  if (scope === 'system') return folders.get('Global Extcap path') ?? folders.get('Extcap path')
  const personal = folders.get('Personal Extcap path')
  if (personal) return personal
  const version = parseVersion(info.version)
  if (version && (version[0] > 4 || (version[0] === 4 && version[1] >= 1)))
    return join(home, '.local/lib/wireshark/extcap')
  const config = folders.get('Personal configuration')
  return config ? join(config, 'extcap') : join(home, '.config/wireshark/extcap')
}

/** Ask tshark, then wireshark, where their folders are. */
export function probeWireshark(): WiresharkInfo {
  const tried: string[] = []
  for (const program of ['tshark', 'wireshark']) {
    // Generous: tshark loads every dissector first (seconds on a slow machine, minutes under emulation).
    const folders = spawnSync(program, ['-G', 'folders'], { encoding: 'utf8', timeout: 600_000 })
    const code = (folders.error as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ETIMEDOUT') throw new NlmonctlError('KERNEL_ERROR', `${program} -G folders did not answer in 600 s`)
    if (folders.status !== 0 || folders.stdout === '') {
      tried.push(code === 'ENOENT' ? `${program} (not on PATH)` : `${program} (exit ${folders.status})`)
      continue
    }
    const version = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 600_000 })
    return { program, folders: folders.stdout, version: version.stdout ?? '' }
  }
  throw new NlmonctlError('NOT_FOUND', `no Wireshark found: tried ${tried.join(', ')} -G folders`, {
    hint: 'install Wireshark (or tshark), then run extcap install again',
  })
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** The launcher: a shell script that runs this nlmonctl with the extcap arguments, and no secrets. */
export function launcherText(node: string, runJs: string): string {
  return `#!/bin/sh\n${LAUNCHER_MARK}\nexec ${shellQuote(node)} ${shellQuote(runJs)} extcap run "$@"\n`
}

export interface InstallResult {
  path: string
  dir: string
  /** false: the same launcher was there already. */
  changed: boolean
  wireshark: string
}

/** Ours: a regular file (not a symlink) that starts with our two lines. */
function launcherState(path: string): 'absent' | 'ours' | 'foreign' {
  let stat: Stats
  try {
    stat = lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent'
    throw fileError(error, path)
  }
  if (!stat.isFile()) return 'foreign'
  const text = readFileSync(path, 'utf8')
  return text.startsWith(`#!/bin/sh\n${LAUNCHER_MARK}\n`) ? 'ours' : 'foreign'
}

function fileError(error: unknown, path: string): NlmonctlError {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO'
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new NlmonctlError('PERMISSION_DENIED', `cannot write ${path}: permission denied`, {
      errno: code,
      hint: 'the system folder needs root (sudo nlmonctl extcap install --system); --user installs for you alone',
    })
  return new NlmonctlError('KERNEL_ERROR', `cannot write ${path}: ${(error as Error).message}`, { errno: code })
}

/** Write (or rewrite) the launcher, mode 0755, atomically; refuse to replace a file that is not ours. */
export function installLauncher(
  scope: Scope,
  node: string,
  runJs: string,
  info: WiresharkInfo = probeWireshark(),
): InstallResult {
  const dir = extcapDir(info, scope)
  if (dir === undefined)
    throw new NlmonctlError('NOT_FOUND', `${info.program} -G folders names no ${scope} extcap folder`)
  const path = join(dir, LAUNCHER_NAME)
  const text = launcherText(node, runJs)
  const state = launcherState(path)
  if (state === 'foreign')
    throw new NlmonctlError('ALREADY_EXISTS', `${path} exists and was not written by nlmonctl; refusing to replace it`)
  if (state === 'ours' && readFileSync(path, 'utf8') === text && (lstatSync(path).mode & 0o777) === 0o755)
    return { path, dir, changed: false, wireshark: info.program }
  const temp = join(dir, `.${LAUNCHER_NAME}.${process.pid}.tmp`)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 })
    writeFileSync(temp, text, { mode: 0o755, flag: 'wx' })
    chmodSync(temp, 0o755) // the umask does not decide whether Wireshark may run it
    renameSync(temp, path)
  } catch (error) {
    try {
      unlinkSync(temp)
    } catch {
      // never written
    }
    throw fileError(error, path)
  }
  return { path, dir, changed: true, wireshark: info.program }
}

export interface UninstallResult {
  path: string
  removed: boolean
}

/** Remove the launcher if it is ours; nothing there is not an error (uninstall twice is fine). */
export function uninstallLauncher(scope: Scope, info: WiresharkInfo = probeWireshark()): UninstallResult {
  const dir = extcapDir(info, scope)
  if (dir === undefined)
    throw new NlmonctlError('NOT_FOUND', `${info.program} -G folders names no ${scope} extcap folder`)
  const path = join(dir, LAUNCHER_NAME)
  const state = launcherState(path)
  if (state === 'absent') return { path, removed: false }
  if (state === 'foreign')
    throw new NlmonctlError('NOT_FOUND', `${path} was not written by nlmonctl extcap install; left alone`)
  try {
    unlinkSync(path)
  } catch (error) {
    throw fileError(error, path)
  }
  return { path, removed: true }
}

/** --user (the default) or --system. */
export function scopeOf(flags: { user?: boolean; system?: boolean }): Scope {
  if (flags.user && flags.system) throw usageError('--user and --system do not go together')
  return flags.system ? 'system' : 'user'
}
