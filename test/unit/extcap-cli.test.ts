// extcap through the CLI, on the host (nothing here needs a privilege or an nlmon driver): the
// contract's answers as Wireshark's launcher gets them, its refusals (one line, documented exit code,
// nothing created), and install → `tshark -D` → uninstall in a temporary HOME (tshark 4.0 looks in
// $HOME/.config/wireshark/extcap; the real home is never touched).
import { jest } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nlmonctl, type CliResult } from '../helpers/cli.js'

/** stderr is one line naming the (two-word) command; the helper's own check knows one-word commands. */
function expectOneLineError(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter((line) => line !== '')
  expect(lines).toEqual([expect.stringMatching(/^nlmonctl extcap \w+: /)])
  expect(lines[0]).toMatch(pattern)
}

jest.setTimeout(120_000)

test('--extcap-interfaces --extcap-version=4.0 (as Wireshark calls it) and a bare --extcap-version', async () => {
  const listed = await nlmonctl(['extcap', 'run', '--extcap-interfaces', '--extcap-version=4.0'])
  expect(listed).toMatchObject({ exitCode: 0, stderr: '' })
  expect(listed.stdout).toMatch(/^extcap \{version=\d+\.\d+\.\d+\}\ninterface \{value=nlmonctl\}\{display=[^{}]+\}$/m)
  // Then one interface per name under /run/netns (other tests' namespaces among them).
  for (const line of listed.stdout.split('\n').slice(2))
    expect(line).toMatch(/^interface \{value=nlmonctl@([^{}\s]+)\}\{display=Netlink \(nlmon\): network namespace \1\}$/)
  const version = await nlmonctl(['extcap', 'run', '--extcap-version'])
  expect(version).toMatchObject({ exitCode: 0, stdout: listed.stdout.split('\n')[0] })
})

test('dlts and config of an interface', async () => {
  const dlts = await nlmonctl(['extcap', 'run', '--extcap-interface', 'nlmonctl', '--extcap-dlts'])
  expect(dlts).toMatchObject({ exitCode: 0, stdout: 'dlt {number=253}{name=NETLINK}{display=Linux netlink (nlmon)}' })
  const config = await nlmonctl(['extcap', 'run', '--extcap-interface', 'nlmonctl@blue', '--extcap-config'])
  expect(config.exitCode).toBe(0)
  expect(config.stdout).toMatch(/^arg \{number=0\}\{call=--family\}/)
})

describe('refusals: one line, the documented exit code, nothing created', () => {
  test('an interface that is not ours (2)', async () => {
    const run = await nlmonctl(['extcap', 'run', '--extcap-interface', 'eth0', '--extcap-dlts'])
    expect(run.exitCode).toBe(2)
    expectOneLineError(run, /^nlmonctl extcap run: unknown extcap interface "eth0"/)
  })
  test('--capture into a FIFO that does not exist (3), or a path that is not a FIFO (2, left as it was)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-fifo-'))
    const missing = await nlmonctl([
      'extcap',
      'run',
      '--capture',
      '--extcap-interface',
      'nlmonctl',
      '--fifo',
      join(dir, 'f'),
    ])
    expect(missing.exitCode).toBe(3)
    expectOneLineError(missing, /--fifo .*: no such file/)
    expect(existsSync(join(dir, 'f'))).toBe(false)
    writeFileSync(join(dir, 'plain'), 'keep')
    const plain = await nlmonctl([
      'extcap',
      'run',
      '--capture',
      '--extcap-interface',
      'nlmonctl',
      '--fifo',
      join(dir, 'plain'),
    ])
    expect(plain.exitCode).toBe(2)
    expectOneLineError(plain, /is not a FIFO/)
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toBe('keep')
  })
  test('a capture filter (2): nlmonctl has none', async () => {
    const run = await nlmonctl([
      'extcap',
      'run',
      '--capture',
      '--extcap-interface',
      'nlmonctl',
      '--fifo',
      '/nonexistent',
      '--extcap-capture-filter',
      'port 53',
    ])
    expect(run.exitCode).toBe(2)
    expectOneLineError(run, /no capture filter/)
  })
  test('no mode (2); --netns (2): the interface names the namespace; --user with --system (2)', async () => {
    expect((await nlmonctl(['extcap', 'run'])).exitCode).toBe(2)
    const netns = await nlmonctl(['extcap', 'run', '--extcap-interfaces', '--netns', 'blue'])
    expect(netns.exitCode).toBe(2)
    expectOneLineError(netns, /takes no --netns/)
    const both = await nlmonctl(['extcap', 'install', '--user', '--system'])
    expect(both.exitCode).toBe(2)
  })
  test('no Wireshark on PATH (3)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nlmonctl-home-'))
    const run = await nlmonctl(['extcap', 'install'], { env: { HOME: home, PATH: '/nonexistent' } })
    expect(run.exitCode).toBe(3)
    expectOneLineError(run, /^nlmonctl extcap install: no Wireshark found/)
    expect(existsSync(join(home, '.config'))).toBe(false)
  })
})

test('install into a temporary HOME: tshark -D lists nlmonctl; uninstall: it does not any more', async () => {
  const home = mkdtempSync(join(tmpdir(), 'nlmonctl-home-'))
  const env = { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' }
  const install = await nlmonctl(['extcap', 'install', '--json'], { env })
  expect(install.exitCode).toBe(0)
  const path = join(home, '.config/wireshark/extcap/nlmonctl')
  expect(JSON.parse(install.stdout)).toEqual({
    installed: { path, dir: join(home, '.config/wireshark/extcap'), changed: true, wireshark: 'tshark' },
  })
  const tshark = (): string => {
    const run = spawnSync('tshark', ['-D'], { env: { ...process.env, ...env }, encoding: 'utf8' })
    if (run.error) throw new Error(`tshark -D: ${run.error.message} (apt-get install tshark)`)
    return run.stdout
  }
  expect(tshark()).toMatch(/^\d+\. nlmonctl \(Netlink \(nlmon\): this network namespace\)$/m)
  const uninstall = await nlmonctl(['extcap', 'uninstall'], { env })
  expect(uninstall).toMatchObject({ exitCode: 0, stdout: `removed ${path}` })
  expect(existsSync(path)).toBe(false)
  expect(tshark()).not.toMatch(/nlmonctl/)
})
