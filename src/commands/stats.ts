import { setTimeout as sleep } from 'node:timers/promises'
import { BaseCommand } from '../base-command.js'
import { oneShotApi, type LinkApi } from '../core/link-api.js'
import { prepareStats, type StatsOperation } from '../core/operations.js'
import { renderTable } from '../core/output.js'
import { rates, type LinkRate } from '../core/rates.js'
import { statsSpec } from '../specs/stats.js'

export default class Stats extends BaseCommand {
  static summary = statsSpec.summary
  static description = statsSpec.description
  static examples = statsSpec.examples
  static args = statsSpec.args
  static flags = statsSpec.flags
  static strict = statsSpec.strict

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

  private async watch(
    stats: StatsOperation,
    { interval, count }: { interval: number; count: number },
    api: LinkApi,
  ): Promise<void> {
    const first = await stats.sample(api)
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    // A reader that went away (`stats --watch | head -1`) ends the watch: EPIPE on stdout is a normal end.
    process.stdout.on('error', onSignal).on('close', onSignal)
    try {
      let previous = first
      let previousAt = performance.now()
      for (let tick = 0; tick < count && !stop.signal.aborted && !process.stdout.destroyed; tick++) {
        try {
          await sleep(interval * 1000, undefined, { signal: stop.signal })
        } catch {
          break // interrupted: a normal end for a watch
        }
        const current = await stats.sample(api)
        const now = performance.now()
        const seconds = (now - previousAt) / 1000
        const linkRates = rates(previous, current, seconds)
        const record = {
          time: new Date().toISOString(),
          interval_sec: Math.round(seconds * 1000) / 1000,
          links: linkRates,
        }
        this.emit(record, () => `${record.time}  (${record.interval_sec}s)\n${rateTable(linkRates)}`)
        previous = current
        previousAt = now
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.stdout.off('error', onSignal).off('close', onSignal)
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
