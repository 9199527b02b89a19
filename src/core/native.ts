// The native addon, loaded only by the commands that talk to the kernel (keeps start-up lean),
// with every call's rejection turned into an NlmonctlError in one place.

import type * as Addon from '#native'
import { fromNative, usageError, type OperationContext } from './errors.js'

export type LinkRef = Addon.LinkRef
export type Target = Addon.Target
export type CreateLinkRequest = Addon.CreateLinkRequest
export type LinkChange = Addon.LinkChange

let addon: Promise<typeof Addon> | undefined
let importAddon: () => Promise<typeof Addon> = () => import('#native')

/**
 * How to import the addon. bin/run.js runs the bundle as a code-cached script (node:vm), where
 * Node 20 gives import() no loader once the code comes from the cache: it hands over its own.
 */
export function setAddonImporter(importer: () => Promise<typeof Addon>): void {
  importAddon = importer
}

export function loadAddon(): Promise<typeof Addon> {
  addon ??= importAddon()
  return addon
}

/** Run one native call; kernel errors become NlmonctlErrors described by ctx. */
export async function call<T>(ctx: OperationContext, fn: (native: typeof Addon) => Promise<T>): Promise<T> {
  const native = await loadAddon()
  try {
    return await fn(native)
  } catch (error) {
    throw fromNative(error, ctx)
  }
}

/** An argument made only of digits is an ifindex; anything else is a name. */
export function linkRef(arg: string): LinkRef {
  return /^[0-9]+$/.test(arg) ? { index: Number(arg) } : { name: arg }
}

/**
 * A --netns value that can name a namespace: a path (with a '/'), or a file name under /run/netns as
 * `ip netns add` makes them. Empty, '.' and '..' would open /run/netns itself, which the kernel refuses
 * only as "Invalid argument": refuse them up front, naming the flag.
 */
export function checkNetns(netns: string | undefined): void {
  if (netns === undefined || netns.includes('/') || (netns !== '' && netns !== '.' && netns !== '..')) return
  throw usageError(
    `invalid --netns ${JSON.stringify(netns)}: give a name under /run/netns or a path such as /proc/PID/ns/net`,
  )
}

export function target(netns: string | undefined): Target | undefined {
  return netns === undefined ? undefined : { netns }
}
