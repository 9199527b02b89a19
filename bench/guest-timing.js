// Shared by bench/batch.js and bench/stats.js: time shell commands inside the guest with the guest's own
// clock (no host↔guest round trip in the numbers).
/**
 * @param {import('../vm/index.js').Guest} guest
 * @param {string} command
 */
export async function timeInGuest(guest, command, timeoutMs = 600_000) {
  const script = `s=$(date +%s%N); ( ${command} ) >/dev/null 2>/tmp/bench.err; rc=$?; e=$(date +%s%N); echo "$rc $(( (e - s) / 1000 ))"`
  const run = await guest.run(script, { timeoutMs })
  const [rc, us] = run.stdout.trim().split(' ').map(Number)
  if (run.exitCode !== 0 || rc !== 0) {
    const err = await guest.run('cat /tmp/bench.err')
    throw new Error(`${command} failed (${rc}): ${err.stdout}${run.stderr}`)
  }
  return us / 1000 // ms
}

export const median = (/** @type {number[]} */ values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
