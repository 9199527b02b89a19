// schema/capture-record.v1.json, the contract of `capture --json` lines: it accepts what the decoder
// prints (the host and guest tests validate every line they read through test/helpers/records.ts) and
// refuses what a script could not rely on: a renamed, new or retyped key, anywhere in the tree.
import { readFileSync } from 'node:fs'
import { ROOT } from '../helpers/cli.js'
import { assertValidLine, parseCapture, SCHEMA_PATH, testRecord } from '../helpers/records.js'

const record = testRecord()

// The contract's examples of the spec-driven tree (issue #9), one of each kind of attribute.
const decoded = {
  spec: 'rt-link',
  op: 'newlink',
  fixed: { 'ifi-family': 0, 'ifi-type': 1, 'ifi-index': 3, 'ifi-flags': ['up', 'broadcast'], 'ifi-change': 0 },
  attrs: [
    { name: 'ifname', type: 3, value: 'dummy0' },
    { name: 'mtu', type: 4, value: 1500 },
    { name: 'operstate', type: 16, value: 'up', raw: 6 },
    { name: 'operstate', type: 16, value: 9 },
    { name: 'flags', type: 8, value: ['up', '0x10000'], raw: 65537 },
    { name: 'address', type: 1, value: 'aa:bb:cc:dd:ee:ff' },
    { name: 'carrier-up', type: 47, value: true },
    { name: 'stats64', type: 23, struct: { 'rx-packets': 1, 'tx-packets': 2 } },
    {
      name: 'linkinfo',
      type: 18,
      attrs: [
        { name: 'kind', type: 1, value: 'dummy' },
        { name: '[0]', type: 0, attrs: [] },
      ],
    },
    { name: 'attr-55', type: 55, hex: '0a0b', unknown: true },
    { name: 'mtu', type: 4, hex: '0500', error: 'u32 needs 4 bytes, has 2' },
    { name: 'something', type: 9, hex: 'deadbeef' },
    // what the decoder also emits beyond the contract's examples
    { name: 'proto-down', type: 39, value: true, hex: '00' }, // a flag that carries bytes
    { name: 'map', type: 14, struct: { 'mem-start': 0, irq: 0 }, hex: '0000' }, // bytes past the spec's struct
    { name: 'options', type: 2, struct: { tc: { handle: 1 } }, attrs: [] }, // a sub-message's fixed header, a nested struct
    { name: 'vlan-list', type: 5, value: [1, 2, 3] }, // a binary array of integers
    { name: 'trailing-bytes', type: 0, hex: '0102', error: '2 bytes too short for an attribute' },
  ],
}

const summary = {
  packets: 1,
  messages: 1,
  bytes: 32,
  kernel_packets: 1,
  kernel_drops: 0,
  user_drops: 0,
  written: 0,
  files: 0,
  queue_drops: 0,
  queue_peak_bytes: 0,
  queue_limit_bytes: 0,
  attributed: 0,
  attribution_lost: 0,
  types: [{ family: 'route', type: 'RTM_NEWLINK', messages: 1 }],
}

const refused = (value: unknown) => expect(() => assertValidLine(value)).toThrow(/does not match/)

test('a versioned 2020-12 schema, shipped in the package', () => {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { $schema: string; $id: string }
  expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
  expect(schema.$id).toMatch(/:v1$/)
  expect(SCHEMA_PATH).toMatch(/\.v1\.json$/)
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { files: string[] }
  expect(pkg.files).toContain('schema')
})

test('records of every kind, the decoded tree and the summary line are accepted', () => {
  assertValidLine(record)
  assertValidLine({ ...record, attrs: { ifindex: 3, ifname: 'dm0', ifi_flags: 0x10043, kind: 'dummy' }, decoded })
  assertValidLine({
    ...record,
    type: 'NLMSG_ERROR',
    error: { errno: 22, name: 'EINVAL', message: 'Invalid argument', extack_policy: { type: 'u32', max_value_u: 9 } },
  })
  assertValidLine({
    ...record,
    family: 'connector',
    connector: {
      idx: 1,
      val: 1,
      seq: 0,
      ack: 0,
      len: 40,
      flags: 0,
      name: 'proc',
      proc_event: { what: 'fork', what_raw: 1, cpu: 0, timestamp_ns: 5, fields: { child_pid: 2 } },
    },
  })
  assertValidLine({
    ...record,
    family: 'generic',
    family_id: 16,
    type: 'mptcp_pm',
    type_id: 28,
    family_source: 'file',
    genl: { cmd: 5, op: 'get-addr', version: 1 },
  })
  assertValidLine({
    ...record,
    type: 'NLMSG_ERROR',
    error: { errno: 0, name: 'ACK', request_type: 'RTM_NEWLINK', request_seq: 1, request_port: 4242 },
  })
  assertValidLine({ summary })
  assertValidLine({ summary: { ...summary, shown: 1 } })
})

test.each([
  ['a renamed key', { ...record, flag: record.flags }],
  ['a new key', { ...record, schema_version: 1 }],
  ['a missing key', { ...record, seq: undefined }],
  ['null for absent', { ...record, malformed: null }],
  ['a retyped key', { ...record, seq: '1' }],
  ['a number out of range', { ...record, type_id: 65536 }],
  ['a direction not in the list', { ...record, dir: 'both' }],
  ['truncated: false (absent instead)', { ...record, truncated: false }],
  ['hex that is not lower-case bytes', { ...record, hex: 'ABC' }],
  ['the old attrs.flags (now ifi_flags)', { ...record, attrs: { flags: 1 } }],
  ['a new key in error', { ...record, error: { errno: 0, name: 'ACK', extra: 1 } }],
  ['a new key in genl', { ...record, genl: { cmd: 1, version: 2, id: 3 } }],
  ['a new key in a summary', { summary: { ...summary, dropped: 0 } }],
  ['a summary without types', { summary: { ...summary, types: undefined } }],
  ['a summary beside a record', { ...record, summary }],
  ['decoded without attrs', { ...record, decoded: { spec: 'rt-link' } }],
  ['a new key in decoded', { ...record, decoded: { ...decoded, family: 'x' } }],
  ['an attribute without a type', { ...record, decoded: { ...decoded, attrs: [{ name: 'mtu', value: 1 }] } }],
  [
    'an attribute with both value and attrs',
    { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 1, value: 1, attrs: [] }] } },
  ],
  [
    'an attribute with attrs and hex',
    { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 1, attrs: [], hex: '' }] } },
  ],
  [
    'an attribute with value and struct',
    { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 1, value: 1, struct: {} }] } },
  ],
  ['an attribute with no content', { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 1 }] } }],
  ['raw without value', { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 1, raw: 1, hex: '' }] } }],
  [
    'a new key deep in a nest',
    {
      ...record,
      decoded: { ...decoded, attrs: [{ name: 'n', type: 1, attrs: [{ name: 'x', type: 2, value: 1, len: 4 }] }] },
    },
  ],
  [
    'an attribute type with NLA_F_NESTED',
    { ...record, decoded: { ...decoded, attrs: [{ name: 'x', type: 0x8001, attrs: [] }] } },
  ],
])('refused: %s', (_what, value) => {
  refused(JSON.parse(JSON.stringify(value)))
})

test('parseCapture: records, then the summary, then the error line; anything else is refused', () => {
  const line = (v: unknown) => JSON.stringify(v)
  const error = { error: { code: 'FILE_CUT_SHORT', exitCode: 9, message: 'cut short' } }
  expect(parseCapture([record, { summary }, error].map(line).join('\n') + '\n')).toEqual({
    records: [record],
    summary,
    error: error.error,
  })
  expect(() => parseCapture([{ summary }, record].map(line).join('\n'))).toThrow(/after the summary line/)
  expect(() => parseCapture([error, record].map(line).join('\n'))).toThrow(/after the error line/)
  expect(() => parseCapture('not json')).toThrow(/line 1 of capture --json output is not JSON/)
  expect(() => parseCapture(line({ ...record, extra: 1 }))).toThrow(/line 1 of capture --json output does not match/)
  // mixed: a guest script's output, other commands' lines skipped
  expect(parseCapture(`[1]\nsize x 3\n${line(record)}\n`, { mixed: true }).records).toEqual([record])
})
