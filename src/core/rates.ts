// Per-interval rates for `stats --watch`, from two IFLA_STATS64 samples of the same links.

import type { IpLink } from './ip-link.js'

export interface LinkRate {
  ifindex: number
  ifname: string
  rx: { packets: number; bytes: number; packets_per_sec: number; bytes_per_sec: number }
  tx: { packets: number; bytes: number; packets_per_sec: number; bytes_per_sec: number }
}

function delta(now: number, before: number): number {
  // A counter that went backwards belongs to a new link that reused the ifindex: count from zero.
  return now >= before ? now - before : now
}

/** Rates for the links present in both samples (matched by ifindex); seconds > 0. */
export function rates(before: readonly IpLink[], after: readonly IpLink[], seconds: number): LinkRate[] {
  const previous = new Map(before.map((link) => [link.ifindex, link]))
  const result: LinkRate[] = []
  for (const link of after) {
    const old = previous.get(link.ifindex)
    if (!old?.stats64 || !link.stats64) continue
    const rxPackets = delta(link.stats64.rx.packets, old.stats64.rx.packets)
    const rxBytes = delta(link.stats64.rx.bytes, old.stats64.rx.bytes)
    const txPackets = delta(link.stats64.tx.packets, old.stats64.tx.packets)
    const txBytes = delta(link.stats64.tx.bytes, old.stats64.tx.bytes)
    const per = (n: number) => Math.round((n / seconds) * 100) / 100
    result.push({
      ifindex: link.ifindex,
      ifname: link.ifname,
      rx: { packets: rxPackets, bytes: rxBytes, packets_per_sec: per(rxPackets), bytes_per_sec: per(rxBytes) },
      tx: { packets: txPackets, bytes: txBytes, packets_per_sec: per(txPackets), bytes_per_sec: per(txBytes) },
    })
  }
  return result
}
