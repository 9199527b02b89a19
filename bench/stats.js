#!/usr/bin/env node
// bench/stats: in a guest kernel with nlmon, `nlmonctl stats --json` against `ip -s -j link show type nlmon`
// at 1,000 and 10,000 nlmon links (STATS_SIZES, comma list), medians of STATS_RUNS (default 5) runs each,
// interleaved, timed by the guest's clock (single runs under TCG vary by ±30%). Prints both ratios and the
// growth from the first size to the last (linear: growth ≈ size ratio or less, since start-up is fixed).
// Target: ≤ 1.5× ip at 10,000. nlmonctl's numbers include Node's start-up (`node -e 0`, printed): in a pipe,
// `stats --json` takes bin/run.js's fast path (no oclif); the full CLI's start-up (--version) is printed too.
import { fileURLToPath } from 'node:url'
import { bootGuest } from '../vm/index.js'
import { median, timeInGuest } from './guest-timing.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const sizes = (process.env.STATS_SIZES ?? '1000,10000').split(',').map(Number)
const runs = Number(process.env.STATS_RUNS ?? 5)
const kernel = process.env.NLMONCTL_KERNEL ?? 'sid'
const cli = `node ${root}bin/run.js`

const guest = await bootGuest({ kernel, memoryMiB: 2048 })
const results = []
try {
  // Warm the page cache and nlmonctl's code cache (written by each command's first run, see bin/run.js).
  await timeInGuest(guest, `${cli} list`)
  await timeInGuest(guest, `${cli} --version`)
  const three = async (/** @type {string} */ command) =>
    median([await timeInGuest(guest, command), await timeInGuest(guest, command), await timeInGuest(guest, command)])
  const startup = await three('node -e 0')
  const cliStartup = await three(`${cli} --version`)
  let have = 0
  for (const size of sizes) {
    // Grow to `size` links (DOWN, like ip's default) with ip -batch.
    await guest.run(`seq ${have} ${size - 1} | sed 's/.*/link add s& type nlmon/' | ip -batch -`, {
      timeoutMs: 1_800_000,
    })
    have = size
    const count = await guest.run(
      `${cli} stats --json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)'`,
      { timeoutMs: 300_000 },
    )
    if (Number(count.stdout.trim()) !== size)
      throw new Error(`stats saw ${count.stdout.trim()} links, expected ${size}`)
    const ours = []
    const ips = []
    for (let i = 0; i < runs; i++) {
      ips.push(await timeInGuest(guest, 'ip -s -j link show type nlmon'))
      ours.push(await timeInGuest(guest, `${cli} stats --json`))
    }
    results.push({ size, ip: median(ips), ours: median(ours) })
  }
  console.log(`bench/stats: kernel ${guest.release} (${kernel}) under QEMU/TCG, medians of ${runs} interleaved runs`)
  console.log(
    `node start-up (node -e 0): ${startup.toFixed(0)} ms (included below); the full CLI's (nlmonctl --version): ${cliStartup.toFixed(0)} ms`,
  )
  for (const r of results) {
    console.log(
      `${String(r.size).padStart(6)} links: ip -s -j ${r.ip.toFixed(0).padStart(6)} ms   nlmonctl stats --json ${r.ours.toFixed(0).padStart(6)} ms   ratio ${(r.ours / r.ip).toFixed(2)}×   without start-up ${((r.ours - startup) / r.ip).toFixed(2)}×`,
    )
  }
  if (results.length > 1) {
    const [first, last] = [results[0], results[results.length - 1]]
    const k = last.size / first.size
    console.log(
      `growth ${first.size}→${last.size} (${k}× the links): ip ${(last.ip / first.ip).toFixed(2)}×, nlmonctl ${(last.ours / first.ours).toFixed(2)}× (without start-up ${((last.ours - startup) / (first.ours - startup)).toFixed(2)}×)`,
    )
    const ratio = last.ours / last.ip
    console.log(`target ≤ 1.50× ip at ${last.size}: ${ratio.toFixed(2)}× ${ratio <= 1.5 ? 'met' : 'NOT met'}`)
  }
} finally {
  await guest.close()
}
