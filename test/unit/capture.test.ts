import { prepareCapture, prepareTrace } from '../../src/core/capture.js'
import { formatRecord, formatSummary, parseRecords, summarize, type NlRecord } from '../../src/core/capture-format.js'
import { filterOwned, parseProcNetlink, processTree, sample, emptyPorts } from '../../src/core/capture-owner.js'
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

describe('--only-cmd ownership', () => {
  const owned = { pids: new Set([100]), ports: new Set([2_000_000_001]) }

  const ack = (request: NlRecord, port: number, over: Partial<NlRecord> = {}): NlRecord =>
    rec({
      dir: 'to-user',
      type: 'NLMSG_ERROR',
      type_id: 2,
      flags: [],
      flags_raw: 0,
      seq: request.seq,
      port,
      len: 36,
      error: {
        errno: 0,
        name: 'ACK',
        request_type: request.type,
        request_seq: request.seq,
        request_type_id: request.type_id,
        request_flags_raw: request.flags_raw,
        request_len: request.len,
      },
      ...over,
    })
  const part = (seq: number, port: number, over: Partial<NlRecord> = {}): NlRecord =>
    rec({ dir: 'to-user', flags: ['MULTI'], flags_raw: 2, seq, port, ...over })
  const getlink = (seq: number, packet: number) =>
    rec({ type: 'RTM_GETLINK', type_id: 18, flags: ['REQUEST', 'DUMP'], flags_raw: 0x301, seq, packet, len: 40 })
  const show = (rs: NlRecord[]) => rs.map((r) => `${r.type}/${r.seq}/${r.port}/${r.packet}`)

  test('messages to our ports, and requests answered to our ports', () => {
    const ours = rec({ seq: 7, port: 0 })
    const theirs = rec({ seq: 7, port: 0, packet: 2 }) // someone else's with the same header
    const records = [
      ours,
      theirs,
      ack(ours, 100, { packet: 3 }),
      ack(theirs, 555, { packet: 4 }),
      rec({ dir: 'to-user', flags: [], flags_raw: 0, seq: 9, port: 2_000_000_001, packet: 5 }), // a notification we caused
      rec({ type: 'RTM_GETADDR', type_id: 22, seq: 11, port: 0, packet: 6 }), // never answered
      part(12, 555, { type: 'RTM_NEWADDR', type_id: 20, packet: 7 }),
      rec({ type: 'RTM_GETLINK', type_id: 18, seq: 13, port: 100, packet: 8 }), // sent with our port id
    ]
    expect(show(filterOwned(records, owned))).toEqual([
      'RTM_NEWLINK/7/0/1',
      'NLMSG_ERROR/7/100/3',
      'RTM_NEWLINK/9/2000000001/5',
      'RTM_GETLINK/13/100/8',
    ])
  })

  test('a dump: one request, many replies to one port; another request with the same seq is not ours', () => {
    const dump = [
      getlink(5, 1),
      part(5, 100, { packet: 2 }),
      part(5, 100, { packet: 3 }),
      getlink(5, 9),
      part(5, 555, { packet: 10 }),
    ]
    expect(show(filterOwned(dump, owned))).toEqual(['RTM_GETLINK/5/0/1', 'RTM_NEWLINK/5/100/2', 'RTM_NEWLINK/5/100/3'])
  })

  test('replies out of request order (two CPUs): the ACK finds its own request by the header it quotes', () => {
    // A concurrent `ip addr show` (same second, so the same seq as ours) asks first; our
    // `ip link add`'s ACK arrives before its dump replies. Seen in CI on 7.2 under load.
    const theirs = getlink(8, 1)
    const ours = rec({ flags: ['REQUEST', 'ACK', 'EXCL', 'CREATE'], flags_raw: 0x605, seq: 8, packet: 2, len: 60 })
    const records = [
      theirs,
      ours,
      ack(ours, 100, { packet: 3 }),
      part(8, 555, { packet: 4 }),
      part(8, 555, { packet: 5 }),
    ]
    expect(show(filterOwned(records, owned))).toEqual(['RTM_NEWLINK/8/0/2', 'NLMSG_ERROR/8/100/3'])
    // and the other way round: their dump answered first, then our ACK
    const swapped = [theirs, ours, part(8, 555, { packet: 3 }), ack(ours, 100, { packet: 4 })]
    expect(show(filterOwned(swapped, owned))).toEqual(['RTM_NEWLINK/8/0/2', 'NLMSG_ERROR/8/100/4'])
  })

  test('a dump reply does not claim a request of another object type; an ACK of an uncaptured request claims nothing', () => {
    const addrDump = rec({ type: 'RTM_GETADDR', type_id: 22, flags: ['REQUEST', 'DUMP'], flags_raw: 0x301, seq: 4 })
    const linkDump = getlink(4, 2)
    const records = [
      addrDump,
      linkDump,
      part(4, 100, { packet: 3 }),
      part(4, 555, { type: 'RTM_NEWADDR', type_id: 20, packet: 4 }),
    ]
    // our port got link messages: the link dump is ours, the address dump (older) is not
    expect(show(filterOwned(records, owned))).toEqual(['RTM_GETLINK/4/0/2', 'RTM_NEWLINK/4/100/3'])
    const lost = rec({ seq: 6, len: 99 }) // the ACK below quotes a request that was not captured
    const other = rec({ seq: 6, packet: 2 })
    expect(show(filterOwned([other, ack(lost, 100, { packet: 3 })], owned))).toEqual(['NLMSG_ERROR/6/100/3'])
  })

  test('/proc/net/netlink', () => {
    const text = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   4023       00000000 0        0        0     2        0        31337
0000000000000000 16  3294967295 00000000 0        0        0     2        0        31338
`
    expect([...parseProcNetlink(text)]).toEqual([
      [31337, 4023],
      [31338, 3294967295],
    ])
    expect(parseProcNetlink('garbage')).toEqual(new Map())
  })

  test('sampling this very process finds its pid', () => {
    expect(processTree(process.pid)).toContain(process.pid)
    const ports = emptyPorts()
    sample(process.pid, ports)
    expect(ports.pids.has(process.pid)).toBe(true)
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
  })

  test.each([
    [[], {}, /^give the command to run after --/],
    [['true'], { force: true }, /^--force goes with -w$/],
    [['true'], { family: 'bogus' }, /^unknown netlink family "bogus"$/],
    [['true'], { 'buffer-size': '4097' }, /^buffer size must be 1 to 4096 MiB, got 4097$/],
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
