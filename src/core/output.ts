// Plain-text output for people at a terminal; nothing decorative when stdout is not one.

export function colorEnabled(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return Boolean(stream.isTTY)
}

export function bold(text: string, stream: NodeJS.WriteStream = process.stdout): string {
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
export function formatJson(value: unknown, stream: NodeJS.WriteStream = process.stdout): string {
  return stream.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value)
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}
