// Plain-text output for people at a terminal; nothing decorative when stdout is not one.

import type { Outcome } from './operations.js'

/** Where output goes, as far as its format is concerned (process.stdout, or src/core/stdio.ts's). */
export interface Terminal {
  isTTY?: boolean
}

export function colorEnabled(stream: Terminal): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return Boolean(stream.isTTY)
}

export function bold(text: string, stream: Terminal = process.stdout): string {
  return colorEnabled(stream) ? `\u001B[1m${text}\u001B[22m` : text
}

export interface Column<T> {
  header: string
  get(row: T): string | number
  align?: 'left' | 'right'
}

/** A left/right aligned text table; the header is bold on a colour terminal. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => String(column.get(row))))
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => r[i].length)))
  const line = (values: string[]) =>
    values
      .map((value, i) => (columns[i].align === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [bold(line(columns.map((c) => c.header))), ...cells.map(line)].join('\n')
}

/** Compact JSON for pipes (one document per line), indented on a terminal. */
export function formatJson(value: unknown, stream: Terminal = process.stdout): string {
  return stream.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value)
}

/** Rows per write when output is written incrementally. */
const CHUNK = 256

/**
 * Write a JSON document; an array of many elements is written element by element in chunks, so
 * that thousands of links never become one giant string. The bytes are those of formatJson().
 */
export function writeJson(value: unknown, write: (chunk: string) => void, stream: Terminal = process.stdout): void {
  if (!Array.isArray(value) || stream.isTTY) {
    write(formatJson(value, stream) + '\n')
    return
  }
  write('[')
  for (let i = 0; i < value.length; i += CHUNK) {
    const part = value.slice(i, i + CHUNK).map((item) => JSON.stringify(item))
    write((i === 0 ? '' : ',') + part.join(','))
  }
  write(']\n')
}

/** renderTable(), written a chunk of rows at a time (the widths still come from every row). */
export function writeTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  write: (chunk: string) => void,
  stream: Terminal = process.stdout,
): void {
  const widths = columns.map((c) => c.header.length)
  const cells: string[][] = new Array(rows.length)
  for (let r = 0; r < rows.length; r++) {
    const row = columns.map((column) => String(column.get(rows[r])))
    for (let i = 0; i < row.length; i++) if (row[i].length > widths[i]) widths[i] = row[i].length
    cells[r] = row
  }
  const line = (values: string[]) =>
    values
      .map((value, i) => (columns[i].align === 'right' ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  write(bold(line(columns.map((c) => c.header)), stream) + '\n')
  for (let i = 0; i < cells.length; i += CHUNK) {
    write(
      cells
        .slice(i, i + CHUNK)
        .map(line)
        .join('\n') + '\n',
    )
  }
}

const stdoutWrite = (chunk: string) => {
  process.stdout.write(chunk)
}

/** An operation's outcome on stdout: its JSON under --json, otherwise its table or text. */
export function writeOutcome(
  outcome: Outcome,
  json: boolean,
  write: (chunk: string) => void = stdoutWrite,
  stream: Terminal = process.stdout,
): void {
  if (json) {
    writeJson(outcome.json, write, stream)
  } else if (outcome.table) {
    writeTable(outcome.table.rows, outcome.table.columns, write, stream)
  } else if (outcome.text !== undefined && outcome.text !== '') {
    write(outcome.text + '\n')
  }
}
