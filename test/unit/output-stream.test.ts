// list/stats write long outputs in chunks; the bytes must be exactly those of the one-shot rendering.
import { formatJson, renderTable, writeJson, writeTable, type Column } from '../../src/core/output.js'

const pipe = { isTTY: false } as NodeJS.WriteStream

test.each([0, 1, 255, 256, 257, 1000, 2500])('%i elements: chunked JSON == JSON.stringify', (n) => {
  const items = Array.from({ length: n }, (_, i) => ({
    ifindex: i + 1,
    ifname: `s${i}`,
    flags: ['NOARP'],
    stats64: { rx: { packets: i } },
  }))
  const chunks: string[] = []
  writeJson(items, (c) => chunks.push(c), pipe)
  expect(chunks.join('')).toBe(formatJson(items, pipe) + '\n')
  if (n > 256) expect(chunks.length).toBeGreaterThan(2) // really incremental
})

test.each([1, 300, 1000])('%i rows: chunked table == renderTable', (n) => {
  const rows = Array.from({ length: n }, (_, i) => ({ i, name: `link${'x'.repeat(i % 13)}` }))
  const columns: Column<(typeof rows)[number]>[] = [
    { header: 'IFINDEX', get: (r) => r.i, align: 'right' },
    { header: 'NAME', get: (r) => r.name },
  ]
  const chunks: string[] = []
  writeTable(rows, columns, (c) => chunks.push(c))
  expect(chunks.join('')).toBe(renderTable(rows, columns) + '\n')
})
