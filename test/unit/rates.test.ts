// The watch command's rates: per-second deltas between two listings.
import { rates } from '../../src/core/rates.js'
import type { IpLink } from '../../src/core/ip-link.js'

type Stats = NonNullable<IpLink['stats64']>
const zeroStats = (rx: Partial<Stats['rx']> = {}, tx: Partial<Stats['tx']> = {}): Stats => ({
  rx: { bytes: 0, packets: 0, errors: 0, dropped: 0, over_errors: 0, multicast: 0, ...rx },
  tx: { bytes: 0, packets: 0, errors: 0, dropped: 0, carrier_errors: 0, collisions: 0, ...tx },
})

const nlmon = (over: Partial<IpLink> = {}): IpLink => ({
  ifindex: 7,
  ifname: 'nlmon0',
  flags: ['NOARP', 'UP', 'LOWER_UP'],
  mtu: 3776,
  qdisc: 'noqueue',
  operstate: 'UNKNOWN',
  linkmode: 'DEFAULT',
  group: 'default',
  txqlen: 0,
  link_type: 'netlink',
  min_mtu: 16,
  max_mtu: 0,
  linkinfo: { info_kind: 'nlmon' },
  stats64: zeroStats({ packets: 5, bytes: 900, dropped: 1 }),
  ...over,
})

describe('watch rates', () => {
  test('deltas over the interval, per second', () => {
    const before = [nlmon({ stats64: zeroStats({ packets: 10, bytes: 1000 }) })]
    const after = [nlmon({ stats64: zeroStats({ packets: 30, bytes: 5000 }) })]
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
    const before = [nlmon({ stats64: zeroStats({ packets: 100 }) })]
    const after = [nlmon({ stats64: zeroStats({ packets: 3 }) }), nlmon({ ifindex: 8, ifname: 'nlmon1' })]
    const result = rates(before, after, 1)
    expect(result).toHaveLength(1)
    expect(result[0].rx.packets).toBe(3)
  })
})
