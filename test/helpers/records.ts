// The one reader of `capture --json` / `capture -r --json` / `trace --json` output in the tests: every
// line is checked against the published contract, schema/capture-record.v1.json, so a renamed, retyped or
// new key fails every test that sees it instead of passing unnoticed.
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { NlRecord, Summary } from '../../src/core/capture-format.js'
import { ROOT } from './cli.js'

export const SCHEMA_PATH = `${ROOT}schema/capture-record.v1.json`

// strict: a typo in the schema itself (an unknown keyword, a `minimum` without a type) is an error too.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true })
const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object)

/** The {"error":…} line an error ends --json output with (README "Errors and exit codes"; errors.ts owns it). */
export interface ErrorLine {
  error: { code: string; exitCode: number; message: string; [key: string]: unknown }
}

export interface CaptureOutput {
  records: NlRecord[]
  summary?: Summary & { shown?: number }
  error?: ErrorLine['error']
}

const isErrorLine = (value: unknown): value is ErrorLine =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 1 && 'error' in value

/** Throws, naming the line and ajv's complaints, unless `value` is a record or a summary line of the schema. */
export function assertValidLine(value: unknown, where = 'a capture --json line'): void {
  if (validate(value)) return
  const errors = (validate.errors ?? []).map(
    (e) => `  ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  )
  throw new Error(`${where} does not match ${SCHEMA_PATH}:\n${JSON.stringify(value)}\n${errors.join('\n')}`)
}

/** A {"summary":…} line (validated): its summary. */
export function parseSummaryLine(line: string, where = 'a capture --json summary line'): Summary & { shown?: number } {
  const value = parseLine(line, where)
  if (!('summary' in value)) throw new Error(`${where} is a record, not the summary: ${line}`)
  return value.summary
}

function json(line: string, where: string): unknown {
  try {
    return JSON.parse(line)
  } catch (error) {
    throw new Error(`${where} is not JSON (${String(error)}): ${line}`)
  }
}

/** One record or summary line: JSON-parsed and validated. */
export function parseLine(line: string, where = 'a capture --json line'): NlRecord | { summary: Summary } {
  const value = json(line, where)
  assertValidLine(value, where)
  return value as NlRecord | { summary: Summary }
}

/**
 * A whole stdout of --json capture output: records, then at most one summary line, then at most one error
 * line, each line validated. `mixed`: the text also holds other commands' output (a guest's shell script):
 * only the lines that start with `{` are read, and the order is not checked.
 */
export function parseCapture(stdout: string, options: { mixed?: boolean } = {}): CaptureOutput {
  const out: CaptureOutput = { records: [] }
  const lines = stdout.split('\n').filter((line) => (options.mixed ? line.startsWith('{') : line !== ''))
  lines.forEach((line, i) => {
    const where = `line ${i + 1} of capture --json output`
    const value = json(line, where)
    // Nothing follows the error line; only the error line follows the summary line.
    const after = out.error !== undefined ? 'the error line' : out.summary && !isErrorLine(value) && 'the summary line'
    if (after && !options.mixed) throw new Error(`${where} comes after ${after}: ${line}`)
    if (isErrorLine(value)) {
      out.error = value.error
      return
    }
    assertValidLine(value, where)
    const parsed = value as NlRecord | { summary: Summary }
    if ('summary' in parsed) out.summary = parsed.summary
    else out.records.push(parsed)
  })
  return out
}

/** The records of a --json output (validated; see parseCapture). */
export const parseRecords = (stdout: string, options: { mixed?: boolean } = {}): NlRecord[] =>
  parseCapture(stdout, options).records

/** A record built by a test (an RTM_NEWLINK request unless `over` says otherwise), checked against the schema. */
export function testRecord(over: Partial<NlRecord> = {}): NlRecord {
  const record: NlRecord = {
    time: '2026-11-29T01:02:03.123456789Z',
    packet: 1,
    dir: 'to-kernel',
    family: 'route',
    family_id: 0,
    type: 'RTM_NEWLINK',
    type_id: 16,
    flags: ['REQUEST', 'ACK'],
    flags_raw: 5,
    seq: 1,
    port: 0,
    len: 32,
    ...over,
  }
  assertValidLine(record, 'a record built by a test')
  return record
}
