import { prepareCapture, prepareTrace } from '../../src/core/capture.js'
import { formatRecord, formatSummary, parseRecords, summarize } from '../../src/core/capture-format.js'
import { ephemeralAlias, orphans, ownerAlive, parseEphemeralAlias, processStart } from '../../src/core/ephemeral.js'
import type { IpLink } from '../../src/core/ip-link.js'
import { testRecord } from '../helpers/records.js'

// Every record a test builds is one the schema allows (test/helpers/records.ts).
const rec = testRecord

describe('decoded record text', () => {
  test('a request with attributes', () => {
    const line = formatRecord(
      rec({ flags: ['REQUEST', 'ACK', 'EXCL', 'CREATE'], attrs: { ifname: 'dm0', kind: 'dummy' } }),
    )
    expect(line).toBe(
      '01:02:03.123456 to-kernel route RTM_NEWLINK REQUEST|ACK|EXCL|CREATE seq=1 port=0 len=32 ifname=dm0 kind=dummy',
    )
  })

  test('errors with extack, ACKs, DONE, hex, malformed', () => {
    const error = rec({
      type: 'NLMSG_ERROR',
      dir: 'to-user',
      flags: ['CAPPED', 'ACK_TLVS'],
      error: {
        errno: 22,
        name: 'EINVAL',
        message: 'Invalid argument',
        extack: 'mtu less than device minimum.',
        request_type: 'RTM_NEWLINK',
      },
    })
    expect(formatRecord(error)).toContain(
      'error=EINVAL (Invalid argument) of RTM_NEWLINK extack="mtu less than device minimum."',
    )
    expect(
      formatRecord(rec({ type: 'NLMSG_ERROR', error: { errno: 0, name: 'ACK', request_type: 'RTM_NEWADDR' } })),
    ).toContain('ACK of RTM_NEWADDR')
    expect(formatRecord(rec({ type: 'NLMSG_DONE', flags: ['MULTI'], error: { errno: 0, name: 'ACK' } }))).toMatch(
      / MULTI .* done$/,
    )
    expect(formatRecord(rec({ hex: '20000000' }))).toMatch(/\n {2}20000000$/)
    expect(
      formatRecord(rec({ type: 'MALFORMED', malformed: 'nlmsg_len 8 is less than the 16-byte header' })),
    ).toContain('MALFORMED: nlmsg_len 8')
    expect(formatRecord(rec({ attrs: { label: 'two words' } }))).toContain('label="two words"')
  })

  test('JSON lines round trip and the summary', () => {
    const lines = [rec({}), rec({ seq: 2 })].map((r) => JSON.stringify(r)).join('\n') + '\n'
    expect(parseRecords(lines).map((r) => r.seq)).toEqual([1, 2])
    expect(parseRecords('')).toEqual([])
    const summary = summarize(
      {
        packets: 2,
        messages: 3,
        bytes: 100,
        kernelPackets: 4,
        kernelDrops: 2,
        userDrops: 0,
        written: 0,
        files: 0,
        queueDrops: 5,
        queuePeakBytes: 3 << 20,
        queueLimitBytes: 256 << 20,
        attributed: 0,
        attributionLost: 0,
      },
      [{ family: 'route', typeName: 'RTM_NEWLINK', messages: 3 }],
    )
    expect(summary).toMatchObject({
      kernel_drops: 2,
      queue_drops: 5,
      queue_peak_bytes: 3 << 20,
      queue_limit_bytes: 256 << 20,
      types: [{ family: 'route', type: 'RTM_NEWLINK', messages: 3 }],
    })
    expect(formatSummary(summary)).toBe(
      '3 messages in 2 packets (100 bytes); kernel drops: 2; queue drops: 5 (peak 3.0 of 256.0 MiB); userspace drops: 0\n  route RTM_NEWLINK  3',
    )
    // processes named: said only when there were some, with the send events lost
    expect(formatSummary({ ...summary, attributed: 2, attribution_lost: 1 })).toContain(
      'userspace drops: 0; processes named: 2 packets (1 send events lost)\n',
    )
  })
})

describe('ephemeral links', () => {
  test('alias round trip', () => {
    expect(ephemeralAlias({ pid: 42, start: 99 })).toBe('nlmonctl-ephemeral pid=42 start=99')
    expect(parseEphemeralAlias('nlmonctl-ephemeral pid=42 start=99')).toEqual({ pid: 42, start: 99 })
    expect(parseEphemeralAlias('nlmonctl-ephemeral pid=42')).toEqual({ pid: 42, start: undefined })
    for (const other of [undefined, null, '', 'ci', 'nlmonctl-ephemeral pid=x', 'xnlmonctl-ephemeral pid=1']) {
      expect(parseEphemeralAlias(other)).toBeUndefined()
    }
  })

  test('an owner is alive only with the same pid and start time', () => {
    const start = processStart(process.pid)
    expect(start).toBeGreaterThan(0)
    expect(ownerAlive({ pid: process.pid, start })).toBe(true)
    expect(ownerAlive({ pid: process.pid, start: (start as number) + 1 })).toBe(false)
    expect(ownerAlive({ pid: process.pid })).toBe(true)
    expect(ownerAlive({ pid: 2 ** 22 + 7 })).toBe(false)
  })

  test('orphans: nlmon links whose owner is gone, nothing else', () => {
    const link = (ifname: string, kind: string, ifalias?: string) =>
      ({ ifname, linkinfo: { info_kind: kind }, ifalias }) as IpLink
    const links = [
      link('a', 'nlmon', 'nlmonctl-ephemeral pid=1 start=5'),
      link('b', 'nlmon', 'nlmonctl-ephemeral pid=2 start=5'),
      link('c', 'nlmon', 'user alias'),
      link('d', 'dummy', 'nlmonctl-ephemeral pid=2 start=5'),
      link('e', 'nlmon'),
    ]
    const alive = (o: { pid: number }) => o.pid === 1
    expect(orphans(links, alive).map((l) => l.ifname)).toEqual(['b'])
  })
})

describe('prepareCapture / prepareTrace: every check that needs no kernel', () => {
  test.each([
    [{ read: 'in.pcap', link: 'mon0' }, /^-r reads a file: it does not go with --link or --duration$/],
    [
      { read: 'in.pcap', cmdline: true },
      /^-r reads a file, whose processes are its pcapng comments: --cmdline is for live captures$/,
    ],
    [
      { read: 'in.pcap', bpf: false },
      /^-r reads a file, whose processes are its pcapng comments: --no-bpf is for live captures$/,
    ],
    [
      { read: 'in.pcap', comm: 'ip' },
      /^-r reads a file, whose processes are its pcapng comments: --comm is for live captures$/,
    ],
    [{ read: 'in.pcap', pid: '1' }, /^-r reads a file, .*: --pid is for live captures$/],
    [{ read: 'in.pcap', processes: false }, /^-r reads a file, .*: --no-processes is for live captures$/],
    [{ pid: '0' }, /^--pid must be a process id \(1 to 4194304\), not "0"$/],
    [{ pid: '4194305' }, /^--pid must be a process id/],
    [{ pid: '12ab' }, /^--pid must be a process id/],
    // the kernel's largest pid, free on any machine whose pid_max is the default
    [{ pid: '4194304' }, /^--pid 4194304: no such process$/],
    [{ comm: '' }, /^--comm is a command name of 1 to 15 bytes \(the kernel keeps no more\), not ""$/],
    [{ comm: 'a-name-of-16-byt' }, /^--comm is a command name of 1 to 15 bytes/],
    [{ comm: 'ip', processes: false }, /^--comm needs processes named: it does not go with --no-processes$/],
    [{ pid: '1', processes: false }, /^--pid needs processes named: it does not go with --no-processes$/],
    [{ cmdline: true, processes: false }, /^--cmdline needs processes named: it does not go with --no-processes$/],
    [
      { read: 'in.pcap', write: 'out.pcap', 'rotate-size': '1' },
      /^-r -w copies a file into one file: -C, -G and -W rotate live captures only$/,
    ],
    [{ pcapng: true }, /^--pcapng is the format of the -w output: it needs -w FILE \(or -w -\)$/],
    [{ read: 'in.pcapng', pcapng: true }, /^--pcapng is the format of the -w output/],
    [{ read: 'in.pcap', link: 'mon0' }, /^-r reads a file/],
    [{ read: 'in.pcap', duration: '1' }, /^-r reads a file/],
    [{ force: true }, /^--force goes with -w$/],
    [{ link: 'a:b' }, /^invalid link "a:b"/],
    [{ link: '0' }, /ifindex is 1 to/],
    [{ write: 'out.pcap', hex: true }, /^--hex prints decoded messages: it does not go with -w$/],
    [{ write: 'out.pcap', verbose: true }, /^--verbose prints decoded messages: it does not go with -w$/],
    [{ family: ' , ' }, /^--family needs at least one family/],
    [{ family: 'route,bogus' }, /^unknown netlink family "bogus"$/],
    [{ count: '0' }, /^invalid --count "0": must be a whole number greater than 0$/],
    [{ count: '1.5' }, /^invalid --count "1.5"/],
    [{ count: '10000000000000000' }, /^count must be a whole number ≥ 1, got 10000000000000000$/],
    [{ count: '1e3' }, /^invalid --count "1e3": must be a whole number greater than 0$/],
    [{ duration: '1e1' }, /^invalid --duration "1e1"/],
    [{ duration: '-1' }, /^invalid --duration "-1": must be a number greater than 0$/],
    [{ 'buffer-size': '0' }, /^invalid --buffer-size "0": must be a whole number greater than 0$/],
    [{ 'buffer-size': '4097' }, /^buffer size must be 1 to 4096 MiB, got 4097$/],
    [{ 'queue-size': '0' }, /^invalid --queue-size "0": must be a whole number greater than 0$/],
    [{ 'queue-size': '1048577' }, /^queue size must be 1 to 1048576 MiB, got 1048577$/],
    // more than this machine has available (MemAvailable): refused now, never OOM-killed later
    [
      { 'queue-size': '1048576' },
      /^a 1048576 MiB queue \(--queue-size\) and the 64 MiB kernel ring are more than this machine can hold: \d+ MiB available \(MemAvailable\)$/,
    ],
  ])('capture %j is refused', async (flags, message) => {
    await expect(prepareCapture(flags, false)).rejects.toThrow(message)
  })

  test('a capture plan', async () => {
    expect(
      await prepareCapture(
        { link: '5', family: 'route, generic', count: '10', duration: '0.5', 'buffer-size': '4096' },
        true,
      ),
    ).toEqual({
      link: '5',
      write: undefined,
      pcapng: false,
      bpf: true,
      cmdline: false,
      processes: true,
      pid: undefined,
      comm: undefined,
      force: false,
      json: true,
      hex: false,
      verbose: false,
      families: ['route', 'generic'],
      count: 10,
      duration: 0.5,
      bufferMib: 4096,
      read: undefined,
    })
    // a file is read without a ring: its --buffer-size is parsed but not bounded, as before
    expect(await prepareCapture({ read: 'in.pcap', 'buffer-size': '5000' }, false)).toMatchObject({
      read: 'in.pcap',
      bufferMib: 5000,
    })
    // --pid names a running process: this one; --comm a name of up to 15 bytes
    expect(await prepareCapture({ pid: String(process.pid), comm: 'ip' }, false)).toMatchObject({
      pid: process.pid,
      comm: 'ip',
    })
  })

  test.each([
    [[], {}, /^give the command to run after --/],
    [['true'], { force: true }, /^--force goes with -w$/],
    [['true'], { family: 'bogus' }, /^unknown netlink family "bogus"$/],
    [['true'], { 'buffer-size': '4097' }, /^buffer size must be 1 to 4096 MiB, got 4097$/],
    [['true'], { 'only-cmd': true, processes: false }, /^--only-cmd keeps CMD's messages by their processes/],
  ])('trace %j %j is refused', async (command, flags, message) => {
    await expect(prepareTrace(command, flags, false)).rejects.toThrow(message)
  })

  test('a trace plan', async () => {
    expect(
      await prepareTrace(['ip', 'link'], { 'only-cmd': true, family: 'route', hex: true, verbose: true }, false),
    ).toEqual({
      command: ['ip', 'link'],
      onlyCmd: true,
      write: undefined,
      force: false,
      json: false,
      hex: true,
      verbose: true,
      families: ['route'],
      bufferMib: undefined,
      bpf: true,
      cmdline: false,
      processes: true,
    })
  })

  // The native layer owns the family names (native/src/capture/names.rs): prepare asks it.
  test('--family entries: names and aliases in any ASCII case, u16 numbers', async () => {
    const verdict = (family: string) =>
      prepareCapture({ family }, false).then(
        () => 'ok',
        (error: Error) => error.message,
      )
    for (const ok of [
      'route',
      'ROUTE',
      'rtnl',
      'Generic',
      'sock_diag',
      'inet_diag',
      'smc',
      '0',
      '+16',
      '007',
      '65535',
    ]) {
      expect([ok, await verdict(ok)]).toEqual([ok, 'ok'])
    }
    for (const no of ['bogus', '65536', '-1', '0x10', '1e3', '+', 'family_16', '\u212Aobject_uevent']) {
      expect([no, await verdict(no)]).toEqual([no, `unknown netlink family ${JSON.stringify(no)}`])
    }
  })
})
