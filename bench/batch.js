#!/usr/bin/env node
// bench/batch: in a guest kernel with nlmon, N `add` + N `del` through `nlmonctl batch` against the same
// through `ip -batch`, in one run (one boot), timed by the guest's clock; prints the per-operation times
// and the ratio. Target: nlmonctl batch ≤ 1.5× ip -batch per operation. N = BATCH_N (default 1000);
// kernel = NLMONCTL_KERNEL (default sid). Links are created DOWN on both sides (ip's default).
// nlmonctl's number includes its one Node start-up per batch (measured separately and printed).
import { fileURLToPath } from 'node:url'
import { bootGuest } from '../vm/index.js'
import { timeInGuest } from './guest-timing.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const n = Number(process.env.BATCH_N ?? 1000)
const kernel = process.env.NLMONCTL_KERNEL ?? 'sid'
const cli = `node ${root}bin/run.js`

const guest = await bootGuest({ kernel })
try {
  await guest.run(
    [
      `seq 0 ${n - 1} | sed 's/.*/link add ip& type nlmon/' > /tmp/ip-add`,
      `seq 0 ${n - 1} | sed 's/.*/link del ip&/' > /tmp/ip-del`,
      `seq 0 ${n - 1} | sed 's/.*/add nl& --down/' > /tmp/nl-add`,
      `seq 0 ${n - 1} | sed 's/.*/del nl&/' > /tmp/nl-del`,
    ].join(' && '),
  )
  await timeInGuest(guest, `${cli} list`) // warm the page cache (node, the bundle, the addon)
  const startup = await timeInGuest(guest, `${cli} --version`)
  // The JS side alone: every line parsed and validated, nothing sent (a refused last line stops the run).
  await guest.run(`cp /tmp/nl-add /tmp/nl-parse && echo 'add x --mtu 1' >> /tmp/nl-parse`)
  const parseOnly = await timeInGuest(guest, `${cli} batch -f /tmp/nl-parse || test $? = 2`)
  const ipAdd = await timeInGuest(guest, 'ip -batch /tmp/ip-add')
  const nlAdd = await timeInGuest(guest, `${cli} batch -f /tmp/nl-add`)
  const counts = await guest.run('ip -o link show type nlmon | wc -l')
  if (Number(counts.stdout.trim()) !== 2 * n)
    throw new Error(`expected ${2 * n} nlmon links, found ${counts.stdout.trim()}`)
  const ipDel = await timeInGuest(guest, 'ip -batch /tmp/ip-del')
  const nlDel = await timeInGuest(guest, `${cli} batch -f /tmp/nl-del`)
  const left = await guest.run('ip -o link show type nlmon | wc -l')
  if (Number(left.stdout.trim()) !== 0) throw new Error(`${left.stdout.trim()} nlmon links left`)

  const per = (/** @type {number} */ ms) => `${((ms * 1000) / n).toFixed(0).padStart(6)} µs/op`
  const ip = ipAdd + ipDel
  const nl = nlAdd + nlDel
  console.log(`bench/batch: kernel ${guest.release} (${kernel}) under QEMU/TCG, ${n} add + ${n} del, one run`)
  console.log(
    `ip -batch        add ${ipAdd.toFixed(0).padStart(7)} ms ${per(ipAdd)}   del ${ipDel.toFixed(0).padStart(7)} ms ${per(ipDel)}`,
  )
  console.log(
    `nlmonctl batch   add ${nlAdd.toFixed(0).padStart(7)} ms ${per(nlAdd)}   del ${nlDel.toFixed(0).padStart(7)} ms ${per(nlDel)}`,
  )
  console.log(`nlmonctl start-up (--version) ${startup.toFixed(0)} ms, paid once per batch (included above)`)
  console.log(
    `nlmonctl batch parsing + validating ${n} add lines, nothing sent: ${parseOnly.toFixed(0)} ms (start-up included)`,
  )
  const ratio = nl / ip
  const net = (nl - 2 * startup) / ip
  console.log(
    `per-operation ratio nlmonctl batch / ip -batch: ${ratio.toFixed(2)}× (add ${(nlAdd / ipAdd).toFixed(2)}×, del ${(nlDel / ipDel).toFixed(2)}×); without the two start-ups ${net.toFixed(2)}×`,
  )
  console.log(`target ≤ 1.50×: ${ratio <= 1.5 ? 'met' : 'NOT met'}`)
} finally {
  await guest.close()
}
