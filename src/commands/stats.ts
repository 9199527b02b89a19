import { setTimeout as sleep } from 'node:timers/promises'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { oneShotApi, type LinkApi } from '../core/link-api.js'
import { prepareStats, type StatsOperation } from '../core/operations.js'
import { renderTable } from '../core/output.js'
import { rates, type LinkRate } from '../core/rates.js'

export default class Stats extends BaseCommand {
  static summary = 'Show the traffic counters (IFLA_STATS64) of nlmon links.'

  static description = `Without arguments, every nlmon link in the namespace. On the kernel's C nlmon driver, captured netlink traffic is counted as rx_packets/rx_bytes, one packet per tapped skb (one skb may carry several netlink messages, e.g. a dump part); tx stays 0. A link counts only while it is UP. With --json, an array of link objects whose stats64.rx / stats64.tx match \`ip -s -j link show\`.

--watch prints, every --interval seconds, the packets and bytes of each link during that interval and their per-second rates (JSON lines with --json), until interrupted (exit 0) or --count intervals have passed.`

  static examples = [
    '<%= config.bin %> stats',
    { description: 'Packets captured so far by one link', command: "<%= config.bin %> stats nlmon0 --json | jq '.[0].stats64.rx.packets'" },
    { description: 'Live rates every half second', command: '<%= config.bin %> stats --watch --interval 0.5' },
  ]

  static strict = false

  static flags = {
    watch: Flags.boolean({ char: 'w', summary: 'Print per-interval rates until interrupted.' }),
    interval: Flags.string({ summary: 'Seconds between samples with --watch (0.1 to 3600).', default: '1', helpValue: 'SECONDS' }),
    count: Flags.string({ summary: 'With --watch, stop after this many intervals.', helpValue: 'N' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stats)
    const stats = prepareStats(argv as string[], flags)
    const api = oneShotApi(flags.netns)
    if (stats.watch === undefined) {
      this.emitOutcome(await stats.run(api))
      return
    }
    await this.watch(stats, stats.watch, api)
  }

  private async watch(stats: StatsOperation, { interval, count }: { interval: number; count: number }, api: LinkApi): Promise<void> {
    const first = await stats.sample(api)
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      let previous = first
      let previousAt = performance.now()
      for (let tick = 0; tick < count && !stop.signal.aborted; tick++) {
        try {
          await sleep(interval * 1000, undefined, { signal: stop.signal })
        } catch {
          break // interrupted: a normal end for a watch
        }
        const current = await stats.sample(api)
        const now = performance.now()
        const seconds = (now - previousAt) / 1000
        const linkRates = rates(previous, current, seconds)
        const record = { time: new Date().toISOString(), interval_sec: Math.round(seconds * 1000) / 1000, links: linkRates }
        this.emit(record, () => `${record.time}  (${record.interval_sec}s)\n${rateTable(linkRates)}`)
        previous = current
        previousAt = now
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

function rateTable(linkRates: LinkRate[]): string {
  if (linkRates.length === 0) return '(no nlmon links)'
  return renderTable(linkRates, [
    { header: 'NAME', get: (r) => r.ifname },
    { header: 'RX_PKT/S', get: (r) => r.rx.packets_per_sec, align: 'right' },
    { header: 'RX_B/S', get: (r) => r.rx.bytes_per_sec, align: 'right' },
    { header: 'RX_PKTS', get: (r) => r.rx.packets, align: 'right' },
    { header: 'RX_BYTES', get: (r) => r.rx.bytes, align: 'right' },
    { header: 'TX_PKT/S', get: (r) => r.tx.packets_per_sec, align: 'right' },
    { header: 'TX_B/S', get: (r) => r.tx.bytes_per_sec, align: 'right' },
  ])
}
