// What add, del, list, set, stats and prune do, apart from parsing and printing, so that the single
// commands and `batch` run the very same code; and the link requests of capture and trace (their
// capture link, ephemeral or not). Every link request of the CLI goes through here, on a LinkApi
// (one-shot sockets, or a batch's one session socket). Each operation is prepared first — every
// check that needs no kernel (the attribute table, link arguments, flag combinations) — and only
// then run. A prepare() that throws has sent nothing.

import { attributeValues } from './attribute-flags.js'
import { DECIMAL_OR_HEX, validateAttributes } from './attributes.js'
import { NlmonctlError, notNlmon, usageError, type NotNlmonWording } from './errors.js'
import { EPHEMERAL_NAME, ephemeralAlias, orphans, selfOwner } from './ephemeral.js'
import type { LinkApi } from './link-api.js'
import { checkLinkArg } from './link-args.js'
import { isNlmon, isUp, linkKind, type IpLink } from './ip-link.js'
import { linkRef } from './native.js'
import { type Column } from './output.js'

/** What an operation produced: the --json document, and the text (lines, or a table) otherwise. */
export interface Outcome {
  json: unknown
  /** Plain lines to print (none: print nothing). */
  text?: string
  /** A table to print instead of text, rendered and written in chunks. */
  table?: { rows: readonly IpLink[]; columns: readonly Column<IpLink>[] }
}

export interface Operation {
  run(api: LinkApi): Promise<Outcome>
}

type FlagValues = Record<string, unknown>

function notFound(arg: string, netns: string | undefined): NlmonctlError {
  return new NlmonctlError('NOT_FOUND', `link "${arg}"${netns ? ` in network namespace "${netns}"` : ''} not found`)
}

/**
 * The one kind check: returns the link when it is nlmon, else throws the refusal (NOT_NLMON, or
 * ALREADY_EXISTS with `nameTaken`) naming it as the user did (`arg`) and its real kind.
 */
export function requireNlmon(link: IpLink, arg: string, wording: NotNlmonWording = {}): IpLink {
  if (!isNlmon(link)) throw notNlmon(`link "${arg}"`, linkKind(link), wording)
  return link
}

// ---------------------------------------------------------------------------------------------
// add

export function prepareAdd(nameArg: string | undefined, flags: FlagValues): Operation {
  const settings = validateAttributes('add', { name: nameArg, ...attributeValues('add', flags) })
  const name = settings.name === '' ? undefined : settings.name
  const ifNotExists = flags['if-not-exists'] === true
  if (ifNotExists && (name === undefined || name.includes('%'))) {
    throw usageError('--if-not-exists needs an explicit NAME (without "%d")')
  }
  const request = { ...settings, name, kind: 'nlmon', up: flags.down !== true }
  return {
    async run(api) {
      const ctx = { action: 'create' as const, link: name, netns: api.netns }
      try {
        const link = await api.call(ctx, (b) => b.createLink(request))
        return { json: link, text: link.ifname }
      } catch (error) {
        if (!(ifNotExists && error instanceof NlmonctlError && error.code === 'ALREADY_EXISTS')) throw error
        const existing = await api.call({ ...ctx, action: 'look up' }, (b) => b.getLink({ name: name as string }))
        requireNlmon(existing, existing.ifname, { nameTaken: true })
        return { json: existing, text: existing.ifname }
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// del

export function prepareDel(args: readonly string[], flags: FlagValues): Operation {
  const all = flags.all === true
  const ifExists = flags['if-exists'] === true
  if (all && args.length > 0) throw usageError('give link names or --all, not both')
  if (!all && args.length === 0) throw usageError('name at least one link to delete (or use --all)')
  for (const arg of args) checkLinkArg(arg)
  return {
    async run(api) {
      const netns = api.netns
      const victims: IpLink[] = []
      if (args.length === 1) {
        // One link (what a batch line usually names): the native delete looks it up, checks that it
        // is nlmon and deletes it by ifindex — one look-up, one RTM_DELLINK.
        try {
          const ctx = { action: 'delete' as const, link: args[0], netns }
          return { json: [await api.call(ctx, (b) => b.deleteLink(linkRef(args[0]), 'nlmon'))] }
        } catch (error) {
          if (ifExists && error instanceof NlmonctlError && error.code === 'NOT_FOUND') return { json: [] }
          throw error
        }
      }
      if (all) {
        victims.push(...(await api.call({ action: 'list', netns }, (b) => b.listLinks('nlmon'))))
      } else if (args.length > 8) {
        // Many links: one dump rather than one request each.
        const find = linkFinder(await api.call({ action: 'list', netns }, (b) => b.listLinks(null)))
        for (const arg of args) {
          const link = find(arg)
          if (!link) {
            if (ifExists) continue
            throw notFound(arg, netns)
          }
          requireNlmon(link, arg, { refusing: 'delete it' })
          if (!victims.some((v) => v.ifindex === link.ifindex)) victims.push(link)
        }
      } else {
        // A few links (a batch line usually names one): look each up, O(1) in the number of links.
        for (const arg of args) {
          let link: IpLink
          try {
            link = await api.call({ action: 'look up', link: arg, netns }, (b) => b.getLink(linkRef(arg)))
          } catch (error) {
            if (ifExists && error instanceof NlmonctlError && error.code === 'NOT_FOUND') continue
            throw error
          }
          requireNlmon(link, arg, { refusing: 'delete it' })
          if (!victims.some((v) => v.ifindex === link.ifindex)) victims.push(link)
        }
      }
      const deleted: IpLink[] = []
      for (const victim of victims) {
        try {
          // By ifindex, with the kind checked again by the native layer right before RTM_DELLINK.
          const ctx = { action: 'delete' as const, link: victim.ifname, netns }
          deleted.push(await api.call(ctx, (b) => b.deleteLink({ index: victim.ifindex }, 'nlmon')))
        } catch (error) {
          // Someone else deleted it between our look-up and our request.
          const gone = error instanceof NlmonctlError && error.code === 'NOT_FOUND'
          if (!(gone && (ifExists || all))) throw error
        }
      }
      return { json: deleted }
    },
  }
}

/** The link an argument names (by name, or by ifindex when all digits) in a dump, in O(1) after one pass. */
function linkFinder(links: readonly IpLink[]): (arg: string) => IpLink | undefined {
  const byName = new Map(links.map((l) => [l.ifname, l]))
  const byIndex = new Map(links.map((l) => [l.ifindex, l]))
  return (arg) => (/^[0-9]+$/.test(arg) ? byIndex.get(Number(arg)) : byName.get(arg))
}

// ---------------------------------------------------------------------------------------------
// list

export const LIST_COLUMNS: readonly Column<IpLink>[] = [
  { header: 'IFINDEX', get: (l) => l.ifindex, align: 'right' },
  { header: 'NAME', get: (l) => l.ifname },
  { header: 'STATE', get: (l) => (isUp(l) ? 'UP' : 'DOWN') },
  { header: 'MTU', get: (l) => l.mtu, align: 'right' },
  { header: 'TXQLEN', get: (l) => l.txqlen, align: 'right' },
  { header: 'ALIAS', get: (l) => l.ifalias ?? '' },
]

export function prepareList(): Operation {
  return {
    async run(api) {
      const links = await api.call({ action: 'list', netns: api.netns }, (b) => b.listLinks('nlmon'))
      return { json: links, table: links.length === 0 ? undefined : { rows: links, columns: LIST_COLUMNS } }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// set

export function prepareSet(link: string, flags: FlagValues): Operation {
  checkLinkArg(link)
  const settings = validateAttributes('set', attributeValues('set', flags))
  const up = flags.up === true ? true : flags.down === true ? false : undefined
  if (up === undefined && Object.keys(settings).length === 0) {
    throw usageError('nothing to change: give --up, --down or an attribute (see --help)')
  }
  return {
    async run(api) {
      const ctx = { action: 'change' as const, link, netns: api.netns }
      const changed = await api.call(ctx, (b) => b.setLink(linkRef(link), { ...settings, up }, 'nlmon'))
      return { json: changed, text: changed.ifname }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// stats (one sample, or --watch's parameters: its loop lives in the command)

const COUNTER_COLUMNS: readonly Column<IpLink>[] = [
  { header: 'IFINDEX', get: (l) => l.ifindex, align: 'right' },
  { header: 'NAME', get: (l) => l.ifname },
  { header: 'STATE', get: (l) => (isUp(l) ? 'UP' : 'DOWN') },
  { header: 'RX_PACKETS', get: (l) => l.stats64?.rx.packets ?? '-', align: 'right' },
  { header: 'RX_BYTES', get: (l) => l.stats64?.rx.bytes ?? '-', align: 'right' },
  { header: 'RX_DROPPED', get: (l) => l.stats64?.rx.dropped ?? '-', align: 'right' },
  { header: 'TX_PACKETS', get: (l) => l.stats64?.tx.packets ?? '-', align: 'right' },
  { header: 'TX_BYTES', get: (l) => l.stats64?.tx.bytes ?? '-', align: 'right' },
]

export interface StatsOperation extends Operation {
  /** With --watch: seconds between samples, and how many intervals (Infinity: until interrupted). */
  readonly watch?: { interval: number; count: number }
  /** One dump: the named links (each must exist and be nlmon) or every nlmon link. */
  sample(api: LinkApi): Promise<IpLink[]>
}

/**
 * Every check of stats, wherever it runs (the command, a batch line): link arguments, --interval
 * (0.1 to 3600 s), --count (a whole number ≥ 1) and --count only with --watch. run() gives one
 * sample's outcome; a --watch loop calls sample() every `watch.interval` seconds.
 */
export function prepareStats(args: readonly string[], flags: FlagValues): StatsOperation {
  for (const arg of args) checkLinkArg(arg)
  // The flag's default is '1'; a parser that leaves it out means the same.
  // Plain digits only: Number() would take ' 1', '1e3', '0b1', 'Infinity'.
  const interval =
    flags.interval === undefined
      ? 1
      : /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(String(flags.interval))
        ? Number(flags.interval)
        : NaN
  if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
    throw usageError(`invalid --interval ${JSON.stringify(flags.interval)}: must be 0.1 to 3600 seconds`)
  }
  const count =
    flags.count === undefined ? Infinity : DECIMAL_OR_HEX.test(String(flags.count)) ? Number(flags.count) : NaN
  if (!(count === Infinity || (Number.isInteger(count) && count >= 1))) {
    throw usageError(`invalid --count ${JSON.stringify(flags.count)}: must be a whole number of at least 1`)
  }
  const watch = flags.watch === true
  if (!watch && flags.count !== undefined) throw usageError('--count goes with --watch')
  const sample = (api: LinkApi) => sampleStats(api, args)
  return {
    watch: watch ? { interval, count } : undefined,
    sample,
    async run(api) {
      const links = await sample(api)
      return { json: links, table: links.length === 0 ? undefined : { rows: links, columns: COUNTER_COLUMNS } }
    },
  }
}

async function sampleStats(api: LinkApi, args: readonly string[]): Promise<IpLink[]> {
  const netns = api.netns
  const links = await api.call({ action: 'list', netns }, (b) => b.listLinks(args.length === 0 ? 'nlmon' : null))
  if (args.length === 0) return links
  const find = linkFinder(links)
  return args.map((arg) => {
    const link = find(arg)
    if (!link) throw notFound(arg, netns)
    return requireNlmon(link, arg)
  })
}

// ---------------------------------------------------------------------------------------------
// capture links (capture, trace): an existing nlmon link, or an ephemeral one

/** The link a capture runs on, and what releaseCaptureLink() must undo. */
export interface CaptureLink {
  /** As it was looked up or created (before being brought UP). */
  link: IpLink
  ephemeral: boolean
  /** It was DOWN and was brought UP for the capture. */
  broughtUp: boolean
}

/** The named link (it must be nlmon; brought UP if it is DOWN), or a new ephemeral one. */
export async function acquireCaptureLink(api: LinkApi, arg: string | undefined): Promise<CaptureLink> {
  if (arg === undefined) return { link: await createEphemeral(api), ephemeral: true, broughtUp: false }
  const ctx = { action: 'look up' as const, link: arg, netns: api.netns }
  const link = requireNlmon(await api.call(ctx, (b) => b.getLink(linkRef(arg))), arg, { refusing: 'capture on it' })
  if (isUp(link)) return { link, ephemeral: false, broughtUp: false }
  await api.call({ ...ctx, action: 'change' }, (b) => b.setLink({ index: link.ifindex }, { up: true }, 'nlmon'))
  return { link, ephemeral: false, broughtUp: true }
}

/** Put the capture link back: an ephemeral one removed, one brought UP taken DOWN again. */
export async function releaseCaptureLink(api: LinkApi, held: CaptureLink): Promise<void> {
  if (held.ephemeral) {
    await removeEphemeral(api, held.link)
  } else if (held.broughtUp) {
    const ctx = { action: 'change' as const, link: held.link.ifname, netns: api.netns }
    await api.call(ctx, (b) => b.setLink({ index: held.link.ifindex }, { up: false }, 'nlmon'))
  }
}

/** Create an UP nlmon link named nlmonctl<N>, marked as ours in its alias (ephemeral.ts). */
async function createEphemeral(api: LinkApi): Promise<IpLink> {
  const request = { name: EPHEMERAL_NAME, kind: 'nlmon', up: true, alias: ephemeralAlias(selfOwner()) }
  return api.call({ action: 'create', link: EPHEMERAL_NAME, netns: api.netns }, (b) => b.createLink(request))
}

/** Remove an ephemeral link by ifindex (the native layer checks it is still nlmon); gone already is fine. */
async function removeEphemeral(api: LinkApi, link: IpLink): Promise<void> {
  try {
    await api.call({ action: 'delete', link: link.ifname, netns: api.netns }, (b) =>
      b.deleteLink({ index: link.ifindex }, 'nlmon'),
    )
  } catch (error) {
    if (error instanceof NlmonctlError && error.code === 'NOT_FOUND') return
    throw error
  }
}

// ---------------------------------------------------------------------------------------------
// prune

/** Removes the ephemeral links whose owner process is gone; their names (the links as JSON). */
export function preparePrune(): Operation {
  return {
    async run(api) {
      const links = await api.call({ action: 'list', netns: api.netns }, (b) => b.listLinks('nlmon'))
      const removed: IpLink[] = []
      for (const link of orphans(links)) {
        await removeEphemeral(api, link)
        removed.push(link)
      }
      return { json: removed, text: removed.map((l) => l.ifname).join('\n') }
    },
  }
}
