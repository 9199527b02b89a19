// The text form of what issue #9 added to the decoded record: each field that the JSON carries is
// visible on the one line too.
import { formatRecord, type NlRecord } from '../../src/core/capture-format.js'
import { ExitCode, fromNative } from '../../src/core/errors.js'
import { testRecord } from '../helpers/records.js'

// An NLMSG_ERROR unless a test says otherwise; every one checked against the schema.
const rec = (over: Partial<NlRecord>): NlRecord =>
  testRecord({ dir: 'to-user', type: 'NLMSG_ERROR', type_id: 2, flags: [], flags_raw: 0, ...over })

describe('issue #9 fields in the text line', () => {
  test('a warning on an ACK and on a DONE', () => {
    expect(
      formatRecord(rec({ error: { errno: 0, name: 'ACK', extack: 'careful', request_type: 'RTM_SETLINK' } })),
    ).toMatch(/ ACK of RTM_SETLINK warning="careful"$/)
    expect(formatRecord(rec({ type: 'NLMSG_DONE', error: { errno: 0, name: 'DONE', extack: 'partial' } }))).toMatch(
      / done warning="partial"$/,
    )
  })

  test('every extended-ACK attribute', () => {
    const line = formatRecord(
      rec({
        error: {
          errno: 22,
          name: 'EINVAL',
          message: 'Invalid argument',
          extack: 'bad',
          extack_offset: 40,
          extack_attr: 'IFLA_ADDRESS',
          extack_miss_type: 3,
          extack_miss_nest: 32,
          extack_cookie: '0102',
          extack_policy: { type: 'u32', max_value_u: 9000 },
        },
      }),
    )
    expect(line).toMatch(
      /error=EINVAL \(Invalid argument\) extack="bad" at=IFLA_ADDRESS missing_type=3 missing_in_nest_at=32 cookie=0102 policy=type:u32,max_value_u:9000$/,
    )
    expect(formatRecord(rec({ error: { errno: 22, name: 'EINVAL', extack_offset: 40 } }))).toMatch(/ at_offset=40$/)
  })

  test('connector, uevent, not decoded, family source, truncated', () => {
    const proc = formatRecord(
      rec({
        family: 'connector',
        type: 'NLMSG_DONE',
        connector: {
          idx: 1,
          val: 1,
          seq: 3,
          ack: 0,
          len: 56,
          flags: 0,
          name: 'proc',
          proc_event: {
            what: 'exec',
            what_raw: 2,
            cpu: 0,
            timestamp_ns: 5,
            fields: { process_pid: 7, process_tgid: 7 },
          },
        },
      }),
    )
    expect(proc).toMatch(
      /connector NLMSG_DONE - seq=1 port=0 len=32 cn=proc cn_seq=3 cn_len=56 event=exec cpu=0 process_pid=7 process_tgid=7$/,
    )
    expect(
      formatRecord(rec({ family: 'kobject_uevent', type: 'UEVENT', uevent: ['add@/devices/x', 'ACTION=add'] })),
    ).toMatch(/ add@\/devices\/x ACTION=add$/)
    expect(
      formatRecord(rec({ family: 'audit', type: 'TYPE_1000', not_decoded: 'audit message: payload not decoded' })),
    ).toMatch(/\(audit message: payload not decoded\)$/)
    expect(formatRecord(rec({ family: 'generic', type: 'GENL_ID_28', family_source: 'unknown' }))).toMatch(
      /generic GENL_ID_28 family_source=unknown /,
    )
    expect(formatRecord(rec({ type: 'RTM_NEWLINK', truncated: true }))).toMatch(/ TRUNCATED \(snap length\)$/)
  })
})

describe('capture -r file errors map to documented exit codes', () => {
  const native = (info: object) => new Error(JSON.stringify(info))
  test('EFILE is exit 2, ECUTSHORT exit 9; both keep the native line, which names the file', () => {
    const bad = fromNative(native({ code: 'EFILE', message: 'x.pcap: not a pcap or pcapng file', file: 'x.pcap' }), {
      action: 'capture',
      file: 'x.pcap',
    })
    expect([bad.code, bad.exitCode, bad.message]).toEqual(['INVALID_INPUT', 2, 'x.pcap: not a pcap or pcapng file'])
    const cut = fromNative(native({ code: 'ECUTSHORT', message: 'x.pcap: cut short: record 60', file: 'x.pcap' }), {
      action: 'capture',
      file: 'x.pcap',
    })
    expect([cut.code, cut.exitCode, cut.message]).toEqual(['FILE_CUT_SHORT', 9, 'x.pcap: cut short: record 60'])
    expect(ExitCode.FILE_CUT_SHORT).toBe(9)
  })
})
