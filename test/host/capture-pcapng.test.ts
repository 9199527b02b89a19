// pcapng and the process comment (issue #10), offline: the fixture test/fixtures/netlink/process.pcapng
// (written by our pcapng writer; the cargo test `pcapng_fixture_is_current` regenerates it, with one
// packet carrying another tool's comment) read by `capture -r`, by tshark and by capinfos — tools nobody
// here wrote — and re-written by `capture -r IN -w OUT`. The live side is test/kernel/capture.test.ts.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expectOneLineError, nlmonctl, ROOT, tool } from '../helpers/cli.js'
import type { NlProcess } from '../../src/core/capture-format.js'
import { parseCapture } from '../helpers/records.js'

const FIXTURE = join(ROOT, 'test/fixtures/netlink/process.pcapng')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-pcapng-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** tshark's frame.comment of each packet, in order ('' for a packet without one). */
function tsharkComments(file: string): string[] {
  return tool('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment']).split('\n').slice(0, -1)
}

const ip: NlProcess = { pid: 4242, tid: 4242, comm: 'ip', source: 'bpf' }
const daemon: NlProcess = { pid: 777, tid: 777, comm: 'my daemon=1', source: 'proc' }
const withArgs: NlProcess = {
  pid: 31337,
  tid: 31337,
  comm: 'ip',
  source: 'bpf',
  cmdline: ['ip', 'link', 'add', 'dm3', 'type', 'dummy'],
}
// What the fixture holds, packet by packet: the process written, and the comment as tshark shows it.
const EXPECTED: [NlProcess | undefined, string][] = [
  [ip, 'pid=4242 tid=4242 comm=ip source=bpf'],
  [ip, 'pid=4242 tid=4242 comm=ip source=bpf'],
  [daemon, 'pid=777 tid=777 comm=my\\x20daemon\\x3d1 source=proc'],
  [daemon, 'pid=777 tid=777 comm=my\\x20daemon\\x3d1 source=proc'],
  [withArgs, 'pid=31337 tid=31337 comm=ip source=bpf cmdline=ip link add dm3 type dummy'],
  [undefined, ''],
  // another tool's comment: shown by tshark, no process for us, and no error
  [undefined, 'reviewed by alice: pid=1 looks fine'],
  [undefined, ''],
]

async function processes(file: string): Promise<(NlProcess | undefined)[]> {
  const result = await nlmonctl(['capture', '-r', file, '--json'])
  expect([result.exitCode, result.stderr]).toEqual([0, ''])
  const { records } = parseCapture(result.stdout)
  // one message per packet in these files
  expect(records.map((r) => r.packet)).toEqual(records.map((_, i) => i + 1))
  return records.map((r) => r.process)
}

describe('capture -r FILE.pcapng: the process from each packet comment', () => {
  test('the records carry the process their packet comment names, as tshark shows the comments', async () => {
    expect(tsharkComments(FIXTURE)).toEqual(EXPECTED.map(([, comment]) => comment))
    expect(await processes(FIXTURE)).toEqual(EXPECTED.map(([process]) => process))
  })

  test('the text line shows comm[pid] after the direction; lines without a process are as before', async () => {
    const result = await nlmonctl(['capture', '-r', FIXTURE])
    expect(result.exitCode).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines).toHaveLength(8)
    expect(lines[0]).toMatch(/^\S+ to-kernel ip\[4242\] route RTM_NEWLINK /)
    expect(lines[2]).toMatch(/^\S+ to-kernel "my daemon=1"\[777\] route RTM_NEWLINK /)
    expect(lines[5]).toMatch(/^\S+ to-user route NLMSG_ERROR /)
    expect(lines[6]).toMatch(/^\S+ to-kernel route RTM_NEWLINK /)
  })

  test('capinfos names the link, its namespace and nlmonctl', () => {
    const info = tool('capinfos', [FIXTURE])
    expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/)
    expect(info).toMatch(/Capture application:\s+nlmonctl /)
    expect(info).toMatch(/Name = nlmon0\n/)
    expect(info).toMatch(/Description = netns fixture \(net:\[4026532285\]\)\n/)
    expect(info).toMatch(/Encapsulation = Linux Netlink/)
    expect(info).toMatch(/Time precision = nanoseconds \(9\)/)
  })
})

describe('capture -r IN -w OUT: a file filtered into another', () => {
  test('pcapng to pcapng keeps the comments, the interface and the times (--count)', async () => {
    const out = join(dir, 'first5.pcapng')
    const result = await nlmonctl(['capture', '-r', FIXTURE, '--count', '5', '-w', out])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe('')
    expect(statSync(out).mode & 0o777).toBe(0o600)
    expect(tsharkComments(out)).toEqual(EXPECTED.slice(0, 5).map(([, comment]) => comment))
    expect(await processes(out)).toEqual(EXPECTED.slice(0, 5).map(([process]) => process))
    const info = tool('capinfos', [out])
    expect(info).toMatch(/Name = nlmon0\n/)
    expect(info).toMatch(/Description = netns fixture \(net:\[4026532285\]\)\n/)
    expect(info).toMatch(new RegExp(`Capture application:\\s+nlmonctl ${VERSION.replace(/\./g, '\\.')}\\n`))
    const times = (file: string) => tool('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch']).split('\n')
    expect(times(out)).toEqual([...times(FIXTURE).slice(0, 5), ''])
  })

  test('pcapng to a .pcap name is plain pcap (no comments), --pcapng makes it pcapng', async () => {
    const plain = join(dir, 'all.pcap')
    expect((await nlmonctl(['capture', '-r', FIXTURE, '-w', plain])).exitCode).toBe(0)
    expect(tool('capinfos', ['-t', plain])).toMatch(/File type:\s+Wireshark\/tcpdump\/\.\.\. - nanosecond pcap/)
    expect(await processes(plain)).toEqual(EXPECTED.map(() => undefined))
    const forced = join(dir, 'forced.pcap')
    expect((await nlmonctl(['capture', '-r', FIXTURE, '-w', forced, '--pcapng'])).exitCode).toBe(0)
    expect(tool('capinfos', ['-t', forced])).toMatch(/pcapng/)
    // A re-written file keeps every comment: the process's, and another tool's note.
    expect(tsharkComments(forced)).toEqual(EXPECTED.map(([, comment]) => comment))
  })

  test('-w - --pcapng streams pcapng to a pipe, comments and all (tshark reads it from stdin)', () => {
    const piped = execFileSync(
      'sh',
      [
        '-c',
        `node ${join(ROOT, 'bin/run.js')} capture -r ${FIXTURE} -w - --pcapng | tshark -r - -T fields -e frame.comment`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    expect(piped.split('\n').slice(0, -1)).toEqual(EXPECTED.map(([, comment]) => comment))
  })

  test('--family keeps only that family (none here: an empty but valid pcapng with the interface)', async () => {
    const out = join(dir, 'none.pcapng')
    expect((await nlmonctl(['capture', '-r', FIXTURE, '--family', 'generic', '-w', out])).exitCode).toBe(0)
    expect(tool('capinfos', ['-c', out])).toMatch(/Number of packets:\s+0\n/)
    expect(tool('capinfos', [out])).toMatch(/Name = nlmon0\n/)
  })

  test('the file it reads is refused as -w, --force or not; nothing is changed', async () => {
    const before = readFileSync(FIXTURE)
    const forced = await nlmonctl(['capture', '-r', FIXTURE, '-w', FIXTURE, '--force'])
    expect(forced.exitCode).toBe(2)
    expectOneLineError(
      forced,
      /^nlmonctl capture: -w .*process\.pcapng is the file -r reads: write the result to another file$/,
    )
    const plain = await nlmonctl(['capture', '-r', FIXTURE, '-w', FIXTURE])
    expect(plain.exitCode).toBe(4)
    expect(readFileSync(FIXTURE)).toEqual(before)
  })

  test('-C/-G/-W do not go with -r -w', async () => {
    const result = await nlmonctl(['capture', '-r', FIXTURE, '-w', join(dir, 'r.pcapng'), '-C', '1'])
    expect(result.exitCode).toBe(2)
    expectOneLineError(
      result,
      /^nlmonctl capture: -r -w copies a file into one file: -C, -G and -W rotate live captures only$/,
    )
  })
})
