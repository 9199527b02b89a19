// Inputs an adversarial run found mishandled: each case failed on the code before its fix.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
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
    timeout: 60_000,
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

/** A pcap (LINKTYPE_NETLINK) of n RTM_GETLINK dump requests, each behind its 16-byte cooked header. */
function netlinkPcap(n: number): Buffer {
  const header = Buffer.alloc(24)
  header.writeUInt32LE(0xa1b2c3d4, 0)
  header.writeUInt16LE(2, 4)
  header.writeUInt16LE(4, 6)
  header.writeUInt32LE(65535, 16)
  header.writeUInt32LE(253, 20)
  const records: Buffer[] = [header]
  for (let i = 0; i < n; i++) {
    const rec = Buffer.alloc(16 + 16 + 16)
    rec.writeUInt32LE(1_700_000_000, 0)
    rec.writeUInt32LE(i, 4)
    rec.writeUInt32LE(32, 8)
    rec.writeUInt32LE(32, 12)
    rec.writeUInt16BE(4, 16) // cooked header: outgoing
    rec.writeUInt16BE(824, 18) // ARPHRD_NETLINK
    rec.writeUInt32LE(16, 32) // nlmsghdr: len, RTM_GETLINK, REQUEST|DUMP, seq
    rec.writeUInt16LE(18, 36)
    rec.writeUInt16LE(0x301, 38)
    rec.writeUInt32LE(i, 40)
    records.push(rec)
  }
  return Buffer.concat(records)
}

describe('a reader that goes away is a clean end (exit 0)', () => {
  /** `nlmonctl ARGS | head -1` under bash: nlmonctl's own exit status and what head printed. */
  async function headed(args: string): Promise<{ status: number; line: string; stderr: string }> {
    const r = await execa(
      'bash',
      ['-c', `"$1" "$2" ${args} | head -1; echo "status=\${PIPESTATUS[0]}"`, 'bash', process.execPath, BIN],
      {
        reject: false,
        timeout: 90_000,
      },
    )
    if (r.timedOut) throw new Error(`nlmonctl ${args} | head -1 did not end; stderr: ${String(r.stderr)}`)
    const lines = String(r.stdout).split('\n')
    return {
      status: Number(/status=(\d+)/.exec(String(r.stdout))?.[1] ?? -1),
      line: lines[0],
      stderr: String(r.stderr),
    }
  }

  test('capture -r FILE --json | head -1', async () => {
    const file = join(dir, 'many.pcap')
    writeFileSync(file, netlinkPcap(20_000))
    for (const json of ['--json', '']) {
      const r = await headed(`capture -r ${file} ${json}`)
      expect(r.status).toBe(0)
      expect(r.line).toMatch(/RTM_GETLINK/)
    }
  })

  test('stats --watch | head -1 ends once its reader has gone', async () => {
    for (const json of ['--json', '']) {
      const r = await headed(`stats --watch --interval 0.1 --netns ${ns.name} ${json}`)
      expect(r.status).toBe(0)
      expect(r.line).not.toBe('')
    }
  })
})

describe('batch input: bounded lines, escaped and truncated echoes', () => {
  test('batch -f /dev/zero: exit 2, the line too long, without reading on', async () => {
    const result = await run(['batch', '--netns', ns.name, '-f', '/dev/zero'])
    expect(result.exitCode).toBe(2)
    expectOneLineError(result, /^nlmonctl batch: line 1 of "\/dev\/zero" is longer than 65536 bytes$/)
  })

  test('a refused line is echoed with its control characters escaped', async () => {
    const result = await run(['batch', '--netns', ns.name], { input: 'list\nbogus\r\u001b[31m\u0000x\n' })
    expect(result.exitCode).toBe(2)
    // eslint-disable-next-line no-control-regex
    expect(result.stderr).not.toMatch(/[\r\u001b\u0000]/)
    expect(result.stderr).toContain('line 2 (bogus\\x0d\\x1b[31m\\x00x)')
  })

  test('a 60 KB bad word is quoted bounded in the error message, its size said, its control bytes escaped', async () => {
    const word = `\u001b${'b'.repeat(60_000)}`
    for (const line of [`add ${word}`, `add x --mtu ${word}`, `add x --${word}`, `set x --up=${word}`, word]) {
      const result = await run(['batch', '--netns', ns.name], { input: `${line}\n` })
      expect(result.exitCode).toBe(2)
      expect(result.stderr.length).toBeLessThan(1000)
      // the word, quoted as the message quotes it (JSON or plain), cut with its size
      expect(result.stderr).toMatch(/b{150,}…\(600\d\d bytes\)/)
      // eslint-disable-next-line no-control-regex
      expect(result.stderr).not.toMatch(/\u001b/)
    }
  })

  test('a long refused line is echoed truncated to 200 characters', async () => {
    const result = await run(['batch', '--netns', ns.name], { input: `list --netns ${'z'.repeat(50_000)}\n` })
    expect(result.exitCode).not.toBe(0)
    const echoed = /line 1 \(([^)]*)\)/.exec(result.stderr)?.[1] ?? ''
    expect(echoed).toBe(`list --netns ${'z'.repeat(200 - 'list --netns '.length)}…`)
  })
})
