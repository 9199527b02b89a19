#!/usr/bin/env node
// bench/startup: what a script pays per nlmonctl call. Every script verb — add, set, list, list --json,
// stats, stats --json, a refused add --address, del — is run against `node -e 0` (Node's own start-up)
// interleaved in the same rounds, so that machine noise hits them all alike; medians of RUNS (default
// 30, at least 20) after 3 warm-up rounds that also write the code caches, and each median's ratio to
// node -e 0's. Target: every verb ≤ 1.25×.
// It runs in a network namespace of its own (`ip netns add nlmonctl-bench-…`, removed at the end, also
// on failure): the verbs never touch this machine's interfaces. Needs root (ip netns). On a kernel
// without nlmon, add answers exit 7, set and del exit 3 (no such link); with nlmon they create, change
// and delete bench0 in that namespace. The exit codes are printed with the figures.
// NLMONCTL_BIN=/other/checkout/bin/run.js measures another build the same way (before/after).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const runs = Math.max(20, Number(process.env.RUNS ?? 30))
const TARGET = 1.25

if (process.argv[2] !== '--inside') {
  // Outside: make the namespace, run this script inside it, remove the namespace.
  const netns = `nlmonctl-bench-${process.pid}-${randomBytes(3).toString('hex')}`
  const add = spawnSync('ip', ['netns', 'add', netns], { stdio: 'inherit' })
  if (add.status !== 0) {
    console.error('bench/startup: `ip netns add` failed (root is needed for a throwaway network namespace)')
    process.exit(1)
  }
  let status = 1
  try {
    const inside = spawnSync(
      'ip',
      ['netns', 'exec', netns, process.execPath, fileURLToPath(import.meta.url), '--inside', netns],
      { stdio: 'inherit' },
    )
    status = inside.status ?? 1
  } finally {
    spawnSync('ip', ['netns', 'del', netns], { stdio: 'inherit' })
  }
  process.exit(status)
}

const cache = mkdtempSync(join(tmpdir(), 'nlmonctl-bench-cache-'))
const env = { ...process.env, XDG_CACHE_HOME: cache }
const bin = process.env.NLMONCTL_BIN ?? `${root}bin/run.js`
/** @returns {[string, string[]]} */
const cli = (/** @type {string[]} */ ...args) => [process.execPath, [bin, ...args]]
/** @type {Record<string, [string, string[]]>} */
const subjects = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'add bench0': cli('add', 'bench0'),
  'set bench0 --mtu 1400': cli('set', 'bench0', '--mtu', '1400'),
  list: cli('list'),
  'list --json': cli('list', '--json'),
  stats: cli('stats'),
  'stats --json': cli('stats', '--json'),
  'add --address 00:11:22:33:44:55': cli('add', '--address', '00:11:22:33:44:55'),
  'del bench0': cli('del', 'bench0'),
}

/** @type {Record<string, number[]>} */
const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]))
/** @type {Record<string, number | null>} */
const exitCodes = {}
try {
  for (let i = 0; i < runs + 3; i++) {
    for (const [name, [file, args]] of Object.entries(subjects)) {
      const start = process.hrtime.bigint()
      // stdout is /dev/null: not a terminal, as in a script (list/stats --json print the addon's bytes)
      const result = spawnSync(file, args, { stdio: 'ignore', env })
      const ms = Number(process.hrtime.bigint() - start) / 1e6
      if (result.error) throw result.error
      exitCodes[name] ??= result.status
      if (i >= 3) samples[name].push(ms) // the first rounds warm the page cache and write the code caches
    }
  }
} finally {
  rmSync(cache, { recursive: true, force: true })
}

const median = (/** @type {number[]} */ values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const baseline = median(samples['node -e 0'])
console.log(
  `bench/startup: ${bin}, ${runs} interleaved rounds in network namespace ${process.argv[3]}, medians (exit code)`,
)
let worst = 0
for (const [name, values] of Object.entries(samples)) {
  const m = median(values)
  const ratio = Number((m / baseline).toFixed(2)) // judged as printed
  if (name !== 'node -e 0') worst = Math.max(worst, ratio)
  console.log(
    `${name.padEnd(34)} ${m.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}× node -e 0  (exit ${exitCodes[name]})`,
  )
}
console.log(
  `target every verb ≤ ${TARGET.toFixed(2)}× node -e 0: worst ${worst.toFixed(2)}× ${worst <= TARGET ? 'met' : 'NOT met'}`,
)
