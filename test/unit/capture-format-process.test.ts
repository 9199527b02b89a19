// The text form of the record's `process` (issue #10): `ip[4242]` right after the direction; a line
// without a process is exactly as before.
import { formatRecord, type NlRecord } from '../../src/core/capture-format.js'
import { testRecord } from '../helpers/records.js'

const rec = (over: Partial<NlRecord>): NlRecord =>
  testRecord({ dir: 'to-kernel', type: 'RTM_NEWLINK', type_id: 16, flags: ['REQUEST'], flags_raw: 1, ...over })

describe('the process in the text line', () => {
  test('after the direction, as comm[pid]', () => {
    const line = formatRecord(rec({ process: { pid: 4242, tid: 4243, comm: 'ip', source: 'bpf' } }))
    expect(line).toMatch(/^\S+ to-kernel ip\[4242\] route RTM_NEWLINK REQUEST seq=/)
  })

  test('a comm that is not one word is quoted', () => {
    const line = formatRecord(rec({ process: { pid: 7, tid: 7, comm: 'my daemon=1', source: 'proc' } }))
    expect(line).toContain(' to-kernel "my daemon=1"[7] route ')
  })

  test('no process: the line is unchanged', () => {
    const without = formatRecord(rec({}))
    const withOne = formatRecord(rec({ process: { pid: 1, tid: 1, comm: 'x', source: 'bpf' } }))
    expect(without).toMatch(/^\S+ to-kernel route RTM_NEWLINK REQUEST seq=/)
    expect(withOne.replace(' x[1]', '')).toBe(without)
  })
})
