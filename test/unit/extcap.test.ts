// The extcap contract's answers, read as Wireshark reads them (extcap_parser.c: a keyword, a space,
// then {key=value} sentences with no brace inside a value), and the launcher's install/uninstall on
// temporary folders (the Wireshark folders are given, not probed).
import { execFileSync } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  configLines,
  dltsLines,
  extcapDir,
  installLauncher,
  interfacesLines,
  launcherText,
  netnsNames,
  netnsOfInterface,
  normalizeExtcapArgv,
  parseVersion,
  uninstallLauncher,
  type WiresharkInfo,
} from '../../src/core/extcap.js'
import { NlmonctlError } from '../../src/core/errors.js'
import { extcapRunSpec } from '../../src/specs/extcap.js'

/** One extcap sentence → keyword and its key/value pairs, or undefined when Wireshark could not read it. */
function sentence(line: string): { keyword: string; fields: Record<string, string> } | undefined {
  const match = /^(extcap|interface|dlt|arg|value) ((?:\{[a-z]+=[^{}]*\})+)$/.exec(line)
  if (!match) return undefined
  const fields: Record<string, string> = {}
  for (const [, key, value] of match[2].matchAll(/\{([a-z]+)=([^{}]*)\}/g)) fields[key] = value
  return { keyword: match[1], fields }
}

// `tshark -G folders` of this machine's Wireshark 4.0.17, and of a 4.2 (which names the personal folder).
const FOLDERS_40 = `Temp:                \t/tmp
Personal configuration:\t/home/u/.config/wireshark
Global configuration:\t/usr/share/wireshark
Personal Plugins:    \t/home/u/.local/lib/wireshark/plugins/4.0
Extcap path:         \t/usr/lib/x86_64-linux-gnu/wireshark/extcap
`
const FOLDERS_42 = `Personal configuration:\t/home/u/.config/wireshark
Personal Extcap path:\t/home/u/.local/lib/wireshark/extcap
Global Extcap path:  \t/usr/lib/x86_64-linux-gnu/wireshark/extcap
`

describe('the contract', () => {
  test('--extcap-interfaces: the extcap line, then one interface per namespace, all readable', () => {
    const lines = interfacesLines('0.1.0', ['blue', 'red'])
    const parsed = lines.map(sentence)
    expect(parsed).toEqual([
      { keyword: 'extcap', fields: { version: '0.1.0' } },
      { keyword: 'interface', fields: { value: 'nlmonctl', display: expect.any(String) } },
      { keyword: 'interface', fields: { value: 'nlmonctl@blue', display: expect.stringContaining('blue') } },
      { keyword: 'interface', fields: { value: 'nlmonctl@red', display: expect.stringContaining('red') } },
    ])
    // Each interface's value names back its namespace.
    expect(parsed.slice(1).map((s) => netnsOfInterface(s?.fields.value ?? ''))).toEqual([undefined, 'blue', 'red'])
  })

  test('--extcap-dlts: DLT 253, NETLINK', () => {
    expect(dltsLines().map(sentence)).toEqual([
      { keyword: 'dlt', fields: { number: '253', name: 'NETLINK', display: expect.any(String) } },
    ])
  })

  test('--extcap-config: numbered args whose calls are flags extcap run takes', () => {
    const args = configLines().map(sentence)
    expect(args.every((a) => a?.keyword === 'arg')).toBe(true)
    expect(args.map((a) => a?.fields.number)).toEqual(['0', '1'])
    for (const a of args) {
      expect(a?.fields).toMatchObject({
        call: expect.stringMatching(/^--/),
        display: expect.any(String),
        type: 'string',
      })
      expect(Object.keys(extcapRunSpec.flags)).toContain(a?.fields.call.slice(2))
    }
  })

  test('interface names: nlmonctl and nlmonctl@NAME only', () => {
    for (const bad of ['', 'nlmon', 'nlmonctl@', 'nlmonctl@a/b', 'nlmonctl@..', 'eth0'])
      expect(() => netnsOfInterface(bad)).toThrow(/unknown extcap interface/)
  })

  test('namespaces whose names Wireshark could not read back are not offered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-netns-'))
    for (const name of ['b', 'a', 'x{y', 'sp ace']) writeFileSync(join(dir, name), '')
    expect(netnsNames(dir)).toEqual(['a', 'b'])
    expect(netnsNames(join(dir, 'missing'))).toEqual([])
  })

  test('a bare --extcap-version is given an empty value; everything else is left as it is', () => {
    expect(normalizeExtcapArgv(['--extcap-version', '--extcap-interfaces', '--extcap-version=4.0'])).toEqual([
      '--extcap-version=',
      '--extcap-interfaces',
      '--extcap-version=4.0',
    ])
  })
})

describe('the extcap folder', () => {
  const info = (folders: string, version: string): WiresharkInfo => ({ program: 'tshark', folders, version })
  test('Wireshark 4.0: personal = the personal configuration folder + extcap; global = "Extcap path"', () => {
    const v40 = info(FOLDERS_40, 'TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u1).')
    expect(extcapDir(v40, 'user', '/home/u')).toBe('/home/u/.config/wireshark/extcap')
    expect(extcapDir(v40, 'system')).toBe('/usr/lib/x86_64-linux-gnu/wireshark/extcap')
  })
  test('Wireshark ≥ 4.1: the folders it names; ~/.local/lib/wireshark/extcap when it names none', () => {
    const v42 = info(FOLDERS_42, 'TShark (Wireshark) 4.2.5.')
    expect(extcapDir(v42, 'user')).toBe('/home/u/.local/lib/wireshark/extcap')
    expect(extcapDir(v42, 'system')).toBe('/usr/lib/x86_64-linux-gnu/wireshark/extcap')
    expect(extcapDir(info('', 'TShark (Wireshark) 4.4.0.'), 'user', '/h')).toBe('/h/.local/lib/wireshark/extcap')
    expect(extcapDir(info('', ''), 'system')).toBeUndefined()
  })
  test('versions', () => {
    expect(parseVersion('TShark (Wireshark) 4.0.17 (Git v4.0.17)')).toEqual([4, 0])
    expect(parseVersion('nothing')).toBeUndefined()
  })
})

describe('the launcher', () => {
  test('runs the given node and run.js with extcap run and every argument, whatever the paths hold', () => {
    const dir = mkdtempSync(join(tmpdir(), "nlmonctl-it's "))
    const launcher = join(dir, 'launcher')
    writeFileSync(launcher, launcherText('/bin/echo', "/opt/it's here/run.js"), { mode: 0o755 })
    const out = execFileSync(launcher, ['--extcap-interfaces', 'a b'], { encoding: 'utf8' })
    expect(out).toBe("/opt/it's here/run.js extcap run --extcap-interfaces a b\n")
  })

  const folders = () => {
    const root = mkdtempSync(join(tmpdir(), 'nlmonctl-extcap-'))
    const dir = join(root, 'personal', 'extcap')
    return {
      dir,
      info: { program: 'tshark', folders: `Personal Extcap path:\t${dir}\n`, version: '4.2.0' } as WiresharkInfo,
    }
  }

  test('install: the folder made, the launcher 0755 whatever the umask; a second install changes nothing', () => {
    const { dir, info } = folders()
    const old = process.umask(0o077)
    try {
      const first = installLauncher('user', '/usr/bin/node', '/opt/nlmonctl/bin/run.js', info)
      expect(first).toEqual({ path: join(dir, 'nlmonctl'), dir, changed: true, wireshark: 'tshark' })
      expect(lstatSync(first.path).mode & 0o777).toBe(0o755)
      expect(installLauncher('user', '/usr/bin/node', '/opt/nlmonctl/bin/run.js', info).changed).toBe(false)
      // Another node: rewritten.
      expect(installLauncher('user', '/opt/node', '/opt/nlmonctl/bin/run.js', info).changed).toBe(true)
      expect(readFileSync(first.path, 'utf8')).toContain("exec '/opt/node' '/opt/nlmonctl/bin/run.js' extcap run")
    } finally {
      process.umask(old)
    }
  })

  test('a file (or symlink) of that name nlmonctl did not write is neither replaced nor removed', () => {
    const { dir, info } = folders()
    mkdirSync(dir, { recursive: true })
    const path = join(dir, 'nlmonctl')
    writeFileSync(path, '#!/bin/sh\necho mine\n')
    chmodSync(path, 0o700)
    const refused = (fn: () => unknown, code: string) => {
      let error: unknown
      try {
        fn()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(NlmonctlError)
      expect((error as NlmonctlError).code).toBe(code)
    }
    refused(() => installLauncher('user', '/usr/bin/node', '/x/run.js', info), 'ALREADY_EXISTS')
    refused(() => uninstallLauncher('user', info), 'NOT_FOUND')
    expect(readFileSync(path, 'utf8')).toBe('#!/bin/sh\necho mine\n')
    expect(lstatSync(path).mode & 0o777).toBe(0o700)
  })

  test('a symlink to a launcher of ours is not ours either', () => {
    const { dir, info } = folders()
    const ours = installLauncher('user', '/usr/bin/node', '/x/run.js', info)
    const other = { ...info, folders: `Personal Extcap path:\t${dir}2\n` }
    mkdirSync(`${dir}2`)
    symlinkSync(ours.path, join(`${dir}2`, 'nlmonctl'))
    expect(() => uninstallLauncher('user', other)).toThrow(/not written by nlmonctl/)
    expect(lstatSync(join(`${dir}2`, 'nlmonctl')).isSymbolicLink()).toBe(true)
  })

  test('uninstall removes ours; a second uninstall has nothing to do', () => {
    const { dir, info } = folders()
    installLauncher('user', '/usr/bin/node', '/x/run.js', info)
    expect(uninstallLauncher('user', info)).toEqual({ path: join(dir, 'nlmonctl'), removed: true })
    expect(uninstallLauncher('user', info)).toEqual({ path: join(dir, 'nlmonctl'), removed: false })
  })
})
