// Shapes native LinkInfo into the objects `ip -j -s -d link show` prints, so jq filters written for
// iproute2 keep working on nlmonctl's output. Key names and value spellings follow iproute2 6.x.

import type { LinkInfo, Stats64 } from './native.js'

export interface LinkJson {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  qdisc?: string
  operstate: string
  linkmode: string
  group: string
  txqlen: number
  link_type: string
  ifalias?: string
  min_mtu?: number
  max_mtu?: number
  linkinfo?: { info_kind: string }
  stats64?: {
    rx: { bytes: number; packets: number; errors: number; dropped: number; over_errors: number; multicast: number }
    tx: { bytes: number; packets: number; errors: number; dropped: number; carrier_errors: number; collisions: number }
  }
}

const IFF_UP = 0x1
const IFF_RUNNING = 0x40
// iproute2's print_link_flags() order.
const FLAG_NAMES: Array<[string, number]> = [
  ['LOOPBACK', 0x8],
  ['BROADCAST', 0x2],
  ['POINTOPOINT', 0x10],
  ['MULTICAST', 0x1000],
  ['NOARP', 0x80],
  ['ALLMULTI', 0x200],
  ['PROMISC', 0x100],
  ['NOTRAILERS', 0x20],
  ['DEBUG', 0x4],
  ['DYNAMIC', 0x8000],
  ['AUTOMEDIA', 0x4000],
  ['PORTSEL', 0x2000],
  ['MASTER', 0x400],
  ['SLAVE', 0x800],
  ['UP', IFF_UP],
  ['LOWER_UP', 0x10000],
  ['DORMANT', 0x20000],
  ['ECHO', 0x40000],
]

export function flagNames(flags: number): string[] {
  const names: string[] = []
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) names.push('NO-CARRIER')
  let rest = flags & ~IFF_RUNNING
  for (const [name, bit] of FLAG_NAMES) {
    if (rest & bit) {
      names.push(name)
      rest &= ~bit
    }
  }
  if (rest) names.push(rest.toString(16))
  return names
}

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP']
export function operstateName(state: number): string {
  return OPERSTATES[state] ?? String(state)
}

const LINKMODES = ['DEFAULT', 'DORMANT', 'TESTING']
export function linkmodeName(mode: number): string {
  return LINKMODES[mode] ?? String(mode)
}

// The ARPHRD types an nlmonctl user meets; iproute2 prints "[N]" for the ones it does not know.
const LINK_TYPES: Record<number, string> = {
  0: 'netrom',
  1: 'ether',
  65534: 'none',
  65535: 'void',
  768: 'ipip',
  769: 'tunnel6',
  772: 'loopback',
  776: 'sit',
  778: 'gre',
  823: 'ip6gre',
  824: 'netlink',
}
export function linkTypeName(type: number): string {
  return LINK_TYPES[type] ?? `[${type}]`
}

export function isUp(link: LinkInfo): boolean {
  return (link.flags & IFF_UP) !== 0
}

export function stats64Json(s: Stats64): NonNullable<LinkJson['stats64']> {
  return {
    rx: {
      bytes: s.rxBytes,
      packets: s.rxPackets,
      errors: s.rxErrors,
      dropped: s.rxDropped,
      over_errors: s.rxOverErrors,
      multicast: s.multicast,
    },
    tx: {
      bytes: s.txBytes,
      packets: s.txPackets,
      errors: s.txErrors,
      dropped: s.txDropped,
      carrier_errors: s.txCarrierErrors,
      collisions: s.collisions,
    },
  }
}

export function linkJson(link: LinkInfo): LinkJson {
  const json: LinkJson = {
    ifindex: link.ifindex,
    ifname: link.ifname,
    flags: flagNames(link.flags),
    mtu: link.mtu,
    ...(link.qdisc === undefined ? {} : { qdisc: link.qdisc }),
    operstate: operstateName(link.operstate),
    linkmode: linkmodeName(link.linkmode),
    group: link.group === 0 ? 'default' : String(link.group),
    txqlen: link.txqlen,
    link_type: linkTypeName(link.linkType),
    ...(link.ifalias ? { ifalias: link.ifalias } : {}),
    ...(link.minMtu === undefined ? {} : { min_mtu: link.minMtu }),
    ...(link.maxMtu === undefined ? {} : { max_mtu: link.maxMtu }),
    ...(link.kind === undefined || link.kind === null ? {} : { linkinfo: { info_kind: link.kind } }),
    ...(link.stats64 ? { stats64: stats64Json(link.stats64) } : {}),
  }
  return json
}
