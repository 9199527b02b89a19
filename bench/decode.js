#!/usr/bin/env node
// Offline decoding: `nlmonctl capture -r FILE --json` against `tshark -r FILE -T json`, both to /dev/null,
// on a 50,000-packet pcap of real rtnetlink traffic.
//
// The traffic is recorded once in a guest kernel with nlmon (`nlmonctl capture --family route -w` around
// iproute2 creating, configuring, dumping and deleting dummy links, addresses, routes and neighbours) and
// kept in the cache (~/.cache/nlmonctl/bench/rtnetlink-real.pcap; --record makes it again, --source FILE
// uses another capture). Its packets are then repeated, each copy shifted in time past the previous one
// (editcap -t, mergecap -a: Wireshark's own tools write the files), and cut to --packets (50,000) and
// --big (200,000) packets.
//
// Each round runs nlmonctl and tshark on the 50,000-packet file and nlmonctl on the 200,000-packet one,
// interleaved (the order alternates from round to round), each under GNU time: wall time, CPU (user+sys)
// and peak RSS of the process. Printed: a row per run, then per tool the medians and the ratio
// tshark/nlmonctl of wall and CPU, and nlmonctl's peak RSS at 50,000 and 200,000 packets (flat when the
// reader streams the file).
//
//   node bench/decode.js [--packets 50000] [--big 200000] [--rounds 3] [--kernel sid] [--source FILE] [--record]
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { bootGuest, cacheDir, kernelsFromEnv, newestKernel, REPO_ROOT } from '../vm/index.js'

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '50000' },
    big: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    kernel: { type: 'string' },
    source: { type: 'string' },
    record: { type: 'boolean', default: false },
  },
})
const packets = Number(values.packets)
const big = Number(values.big)
const rounds = Number(values.rounds)
const cli = join(REPO_ROOT, 'bin/run.js')

for (const tool of ['tshark', 'editcap', 'mergecap', 'capinfos', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    throw new Error(`bench/decode.js needs ${tool} (apt-get install tshark time)`)
}

/** @param {string} file @param {string[]} args */
const run = (file, args) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Packets, first and last timestamp (seconds) of a capture file, by capinfos. */
function info(/** @type {string} */ file) {
  const [, count, start, end] = run('capinfos', ['-T', '-r', '-c', '-S', '-a', '-e', file]).trim().split('\t')
  return { count: Number(count), start: Number(start), end: Number(end) }
}

/** Real traffic: recorded in a guest, kept in the cache. */
async function recordSource(/** @type {string} */ target) {
  const kernel = values.kernel ?? newestKernel(kernelsFromEnv())
  const guest = await bootGuest({ kernel, log: (line) => process.stderr.write(`${line}\n`) })
  try {
    const pcap = join(guest.shareDir, 'real.pcap')
    const each = (/** @type {string} */ body) => `for i in $(seq 1 12); do ${body}; done`
    const script = [
      'set -u',
      `rm -f ${pcap}; node ${cli} capture --family route -w ${pcap} 2>/tmp/rec.err & P=$!`,
      'i=0; until grep -q listening /tmp/rec.err; do i=$((i+1)); [ $i -gt 1200 ] && { cat /tmp/rec.err; exit 1; }; sleep 0.05; done',
      each(
        'ip link add rd$i type dummy && ip link set rd$i up mtu 1400 && ip addr add 10.9.$i.1/24 dev rd$i && ' +
          'ip -6 addr add fd00:$i::1/64 dev rd$i nodad && ip route add 10.99.$i.0/24 via 10.9.$i.2 && ' +
          'ip neigh add 10.9.$i.3 lladdr 02:00:00:00:00:$(printf %02x $i) dev rd$i',
      ),
      each(
        'ip -d link show >/dev/null; ip -s -s link show >/dev/null; ip addr show >/dev/null; ' +
          'ip route show table all >/dev/null; ip -6 route show >/dev/null; ip neigh show >/dev/null; ' +
          'ip rule show >/dev/null; tc qdisc show >/dev/null',
      ),
      each('ip addr flush dev rd$i && ip link set rd$i down && ip link del rd$i'),
      'kill -INT $P; wait $P; cat /tmp/rec.err >&2',
    ].join('\n')
    const result = await guest.run(script, { timeoutMs: 900_000 })
    if (result.exitCode !== 0) throw new Error(`recording in the guest failed:\n${result.stdout}${result.stderr}`)
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(pcap, `${target}.part`)
    renameSync(`${target}.part`, target)
    process.stderr.write(
      `recorded ${info(target).count} packets of real rtnetlink traffic (${guest.release}) in ${target}\n`,
    )
  } finally {
    await guest.close()
  }
}

const cached = join(dirname(cacheDir()), 'bench', 'rtnetlink-real.pcap')
const source = values.source ?? cached
if (values.source === undefined && (values.record || !existsSync(cached))) await recordSource(cached)
const base = info(source)
if (!(base.count > 0)) throw new Error(`${source} holds no packets`)

// Repeat the packets: each doubling appends a copy shifted past the end of what is there.
const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-bench-decode-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let whole = join(dir, 'x1.pcap')
run('editcap', ['-F', 'nsecpcap', source, whole])
for (let n = 1; info(whole).count < Math.max(packets, big); n *= 2) {
  const now = info(whole)
  const shifted = join(dir, `shift${n}.pcap`)
  const next = join(dir, `x${n * 2}.pcap`)
  run('editcap', ['-F', 'nsecpcap', '-t', String(Math.ceil(now.end - now.start) + 1), whole, shifted])
  run('mergecap', ['-F', 'nsecpcap', '-a', '-w', next, whole, shifted])
  whole = next
}
/** The first `count` packets of the repeated traffic. */
const cut = (/** @type {number} */ count) => {
  const file = join(dir, `rtnetlink-${count}.pcap`)
  run('editcap', ['-F', 'nsecpcap', '-r', whole, file, `1-${count}`])
  const got = info(file).count
  if (got !== count) throw new Error(`${file}: ${got} packets, not ${count}`)
  return file
}
const small = cut(packets)
const large = cut(big)

/** One timed run, stdout to /dev/null: wall s, CPU s, peak RSS MiB (GNU time, of the process itself). */
function timed(/** @type {string[]} */ command) {
  const report = join(dir, 'time.txt')
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', report, ...command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`)
  const [wall, user, sys, kib] = (readFileSync(report, 'utf8').trim().split('\n').at(-1) ?? '').split(' ').map(Number)
  return { wall, cpu: user + sys, rss: kib / 1024 }
}

const nlmonctl = (/** @type {string} */ file) => [process.execPath, cli, 'capture', '-r', file, '--json']
const tshark = (/** @type {string} */ file) => ['tshark', '-r', file, '-T', 'json']
/** @type {{ tool: string, packets: number, round: number, wall: number, cpu: number, rss: number }[]} */
const rows = []
for (let r = 1; r <= rounds; r++) {
  const order = [
    { tool: 'nlmonctl', packets, command: nlmonctl(small) },
    { tool: 'tshark', packets, command: tshark(small) },
    { tool: 'nlmonctl', packets: big, command: nlmonctl(large) },
  ]
  if (r % 2 === 0) order.reverse()
  for (const { tool, packets: n, command } of order) {
    rows.push({ tool, packets: n, round: r, ...timed(command) })
    process.stderr.write(`round ${r}: ${tool} ${n} packets done\n`)
  }
}

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const of = (/** @type {string} */ tool, /** @type {number} */ n) =>
  rows.filter((x) => x.tool === tool && x.packets === n)
const summary = (/** @type {string} */ tool, /** @type {number} */ n) => {
  const mine = of(tool, n)
  return {
    wall: median(mine.map((x) => x.wall)),
    cpu: median(mine.map((x) => x.cpu)),
    rss: Math.max(...mine.map((x) => x.rss)),
  }
}
const [nl, ts, nlBig] = [summary('nlmonctl', packets), summary('tshark', packets), summary('nlmonctl', big)]

console.log(
  `${source}: ${base.count} packets, repeated to ${packets} and ${big}; ${rounds} interleaved rounds; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
)
console.table(
  rows.map((x) => ({
    tool: x.tool,
    packets: x.packets,
    round: x.round,
    'wall s': x.wall.toFixed(2),
    'CPU s': x.cpu.toFixed(2),
    'µs CPU/pkt': ((x.cpu * 1e6) / x.packets).toFixed(1),
    'peak RSS MiB': x.rss.toFixed(1),
  })),
)
const line = (/** @type {string} */ name, /** @type {{ wall: number, cpu: number, rss: number }} */ s) => ({
  '': name,
  'wall s (median)': s.wall.toFixed(2),
  'CPU s (median)': s.cpu.toFixed(2),
  'peak RSS MiB (max)': s.rss.toFixed(1),
})
console.table([line(`nlmonctl, ${packets}`, nl), line(`tshark, ${packets}`, ts), line(`nlmonctl, ${big}`, nlBig)])
console.log(
  `tshark/nlmonctl at ${packets} packets: wall ${(ts.wall / nl.wall).toFixed(2)}×, CPU ${(ts.cpu / nl.cpu).toFixed(2)}×; ` +
    `nlmonctl peak RSS ${nl.rss.toFixed(1)} MiB at ${packets} packets, ${nlBig.rss.toFixed(1)} MiB at ${big} ` +
    `(${(nlBig.rss / nl.rss).toFixed(2)}× for ${(big / packets).toFixed(0)}× the packets)`,
)
