// Inputs an adversarial run found mishandled: each case failed on the code before its fix.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { execa } from 'execa'
import { createNetns, type Netns } from '../helpers/netns.js'
import { BIN, expectOneLineError, type CliResult } from '../helpers/cli.js'

let ns: Netns
let dir: string
beforeAll(async () => {
  ns = await createNetns()
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-hardening-'))
})
afterAll(async () => {
  await ns?.remove()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Runs nlmonctl with a bound: a hang fails the test with what it wrote, instead of timing the suite out. */
async function run(args: string[], options: { input?: string; timeout?: number } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    timeout: options.timeout ?? 20_000,
    env: { NO_COLOR: '1' },
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  })
  if (r.timedOut) throw new Error(`nlmonctl ${args.join(' ')} hung; stderr: ${String(r.stderr)}`)
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 }
}

describe('--netns paths that are not a network namespace: exit 8, never a hang', () => {
  test.each([
    [
      'a symlink loop',
      () => {
        const loop = join(dir, 'loop')
        symlinkSync(loop, loop)
        return loop
      },
    ],
    ['a file used as a directory (ENOTDIR)', () => '/etc/passwd/x'],
    ['a 5,000-character path', () => `/${'a'.repeat(5000)}`],
    [
      'a FIFO',
      () => {
        const fifo = join(dir, 'fifo')
        execFileSync('mkfifo', [fifo])
        return fifo
      },
    ],
  ])('%s', async (_what, make) => {
    const path = make()
    const result = await run(['list', '--netns', path])
    expect(result.exitCode).toBe(8)
    expectOneLineError(result, /is not a network namespace/)
  })
})

/** Runs `nlmonctl ARGS` through sh, with printf-built (raw byte) arguments and stdin. */
async function runSh(script: string): Promise<CliResult> {
  const r = await execa('sh', ['-c', script, 'sh', process.execPath, BIN], {
    reject: false,
    timeout: 20_000,
    env: { NO_COLOR: '1' },
  })
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 }
}

describe('names that are not valid UTF-8 are refused (exit 2), never rewritten', () => {
  test('an argument', async () => {
    const before = await ns.links()
    const result = await runSh(`"$1" "$2" add --netns ${ns.name} "$(printf 'a\\240b')"`)
    expect(result.exitCode).toBe(2)
    expectOneLineError(result, /^nlmonctl add: argument "a\\xa0b" is not valid UTF-8$/)
    expect(await ns.links()).toEqual(before)
  })

  test('an argument, under --json', async () => {
    const result = await runSh(`"$1" "$2" add --json --netns ${ns.name} "$(printf 'mon\\377')"`)
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'INVALID_INPUT', exitCode: 2 })
  })

  test('a batch line, named', async () => {
    const result = await runSh(`printf 'list\\nadd mon\\3770\\n' | "$1" "$2" batch --netns ${ns.name}`)
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/^nlmonctl batch: line 2 \(.*\): not valid UTF-8/)
    expect(result.stderr).toMatch(/nothing was run/)
  })
})

describe('capture -w paths that cannot be written: exit 2 before any link is created', () => {
  test('a symlink at the path, with or without --force', async () => {
    const link = join(dir, 'planted.pcap')
    symlinkSync(join(dir, 'target.pcap'), link)
    for (const force of [[], ['--force']]) {
      const result = await run(['capture', '--netns', ns.name, '-w', link, ...force])
      expect(result.exitCode).toBe(2)
      expectOneLineError(result, /^nlmonctl capture: .*planted\.pcap is a symbolic link/)
    }
  })

  test.each([
    ['an empty name', '', /^nlmonctl capture: -w needs a file name/],
    [
      'a missing directory',
      '/nonexistent-dir/x.pcap',
      /^nlmonctl capture: cannot write \/nonexistent-dir\/x\.pcap: its directory \/nonexistent-dir does not exist$/,
    ],
    [
      'a file as directory',
      '/etc/passwd/x.pcap',
      /^nlmonctl capture: cannot write \/etc\/passwd\/x\.pcap: \/etc\/passwd is not a directory$/,
    ],
  ])('%s', async (_what, file, pattern) => {
    const before = await ns.links()
    for (const verb of [['capture'], ['trace']]) {
      const args =
        verb[0] === 'trace'
          ? ['trace', '--netns', ns.name, '-w', file, '--', 'true']
          : ['capture', '--netns', ns.name, '-w', file]
      const result = await run(args)
      expect(result.exitCode).toBe(2)
      expectOneLineError(result, verb[0] === 'trace' ? new RegExp(pattern.source.replace('capture', 'trace')) : pattern)
    }
    expect(await ns.links()).toEqual(before)
  })
})
