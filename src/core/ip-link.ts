// The one link model as TypeScript reads it. The shape is owned by the native layer
// (native/src/link/ip_json.rs): every native link call returns a link exactly as
// `ip -j -s -d link show` prints it, as JSON bytes. This file only names that shape for the
// compiler and reads a few facts off it; it never builds or reshapes a link.

export interface IpLink {
  ifindex: number
  ifname: string
  /** iproute2's flag names, in its order (NO-CARRIER first when UP without RUNNING). */
  flags: string[]
  mtu: number
  qdisc?: string
  operstate: string
  linkmode: string
  /** "default" for group 0, else the number as a string. */
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

/** One link from a native call's bytes. */
export function parseLink(bytes: Uint8Array): IpLink {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as IpLink
}

/** The links of a native listing's bytes (a JSON array). */
export function parseLinks(bytes: Uint8Array): IpLink[] {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as IpLink[]
}

/** IFF_UP, as ip shows it. */
export function isUp(link: IpLink): boolean {
  return link.flags.includes('UP')
}

/** IFLA_INFO_KIND; undefined for links without one (lo, physical NICs). */
export function linkKind(link: IpLink): string | undefined {
  return link.linkinfo?.info_kind
}

export function isNlmon(link: IpLink): boolean {
  return linkKind(link) === 'nlmon'
}
