// The watch command's rates: per-second deltas between two listings.
// (Moved out of link-json.test.ts, deleted with the TS twin of the ip -j shaper.)
import { rates } from '../../src/core/rates.js'
import type { LinkInfo, Stats64 } from '../../src/core/native.js'

const zeroStats = (over: Partial<Stats64> = {}): Stats64 => ({
  rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0,
  multicast: 0, collisions: 0, rxLengthErrors: 0, rxOverErrors: 0, rxCrcErrors: 0, rxFrameErrors: 0,
  rxFifoErrors: 0, rxMissedErrors: 0, txAbortedErrors: 0, txCarrierErrors: 0, txFifoErrors: 0,
  txHeartbeatErrors: 0, txWindowErrors: 0, rxCompressed: 0, txCompressed: 0, rxNohandler: 0, ...over,
})

const nlmon = (over: Partial<LinkInfo> = {}): LinkInfo => ({
  ifindex: 7, ifname: 'nlmon0', kind: 'nlmon', flags: 0x1 | 0x40 | 0x80 | 0x10000, operstate: 0, linkmode: 0,
  mtu: 3776, minMtu: 16, maxMtu: 0, txqlen: 0, group: 0, qdisc: 'noqueue', linkType: 824,
  stats64: zeroStats({ rxPackets: 5, rxBytes: 900, rxDropped: 1 }), ...over,
})

describe('watch rates', () => {
  test('deltas over the interval, per second', () => {
    const before = [nlmon({ stats64: zeroStats({ rxPackets: 10, rxBytes: 1000 }) })]
    const after = [nlmon({ stats64: zeroStats({ rxPackets: 30, rxBytes: 5000 }) })]
    expect(rates(before, after, 2)).toEqual([
      {
        ifindex: 7,
        ifname: 'nlmon0',
        rx: { packets: 20, bytes: 4000, packets_per_sec: 10, bytes_per_sec: 2000 },
        tx: { packets: 0, bytes: 0, packets_per_sec: 0, bytes_per_sec: 0 },
      },
    ])
  })

  test('links that appeared have no rate yet; a reset counter counts from zero', () => {
    const before = [nlmon({ stats64: zeroStats({ rxPackets: 100 }) })]
    const after = [nlmon({ stats64: zeroStats({ rxPackets: 3 }) }), nlmon({ ifindex: 8, ifname: 'nlmon1' })]
    const result = rates(before, after, 1)
    expect(result).toHaveLength(1)
    expect(result[0].rx.packets).toBe(3)
  })
})
