#!/usr/bin/env node
// bench/startup: how much a script pays per nlmonctl call. Runs `nlmonctl list --json`, `node -e 0` and
// `ip -j link show type nlmon` interleaved (so machine noise hits all three alike), many times, and prints
// the medians and the ratios against `node -e 0` measured in the same run. Target: nlmonctl ≤ 2.0×.
// Read-only: list and ip only dump links.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const runs = Number(process.env.RUNS ?? 40)
const subjects = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'nlmonctl list --json': [process.execPath, [`${root}bin/run.js`, 'list', '--json']],
  'nlmonctl add --mtu 1 (validation only)': [process.execPath, [`${root}bin/run.js`, 'add', '--mtu', '1']],
  'ip -j link show type nlmon': ['ip', ['-j', 'link', 'show', 'type', 'nlmon']],
}

const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]))
for (let i = 0; i < runs + 3; i++) {
  for (const [name, [file, args]] of Object.entries(subjects)) {
    const start = process.hrtime.bigint()
    const result = spawnSync(file, args, { stdio: 'ignore' })
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.error) throw result.error
    if (i >= 3) samples[name].push(ms) // the first rounds warm the page cache
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const baseline = median(samples['node -e 0'])
console.log(`bench/startup: ${runs} interleaved runs each, medians`)
for (const [name, values] of Object.entries(samples)) {
  const m = median(values)
  console.log(`${name.padEnd(40)} ${m.toFixed(1).padStart(7)} ms  ${(m / baseline).toFixed(2)}× node -e 0`)
}
const ratio = median(samples['nlmonctl list --json']) / baseline
console.log(`target nlmonctl list --json ≤ 2.00× node -e 0: ${ratio.toFixed(2)}× ${ratio <= 2 ? 'met' : 'NOT met'}`)
