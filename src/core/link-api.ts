// How the operations reach the kernel: one-shot native calls (each opens its own socket), or a
// NetlinkSession (one socket for a whole batch). Both map errors through fromNative() the same way.

import type * as Addon from '../../native/index.js'
import { fromNative, type OperationContext } from './errors.js'
import { parseLink, parseLinks, type IpLink } from './ip-link.js'
import { call, loadAddon, target, type CreateLinkRequest, type LinkChange, type LinkRef } from './native.js'

/** The five link requests, whatever carries them; each answers with links in `ip -j` shape. */
export interface LinkBackend {
  createLink(req: CreateLinkRequest): IpLink | Promise<IpLink>
  getLink(ref: LinkRef): IpLink | Promise<IpLink>
  listLinks(kind: string | null): IpLink[] | Promise<IpLink[]>
  deleteLink(ref: LinkRef, expectKind: string | null): IpLink | Promise<IpLink>
  setLink(ref: LinkRef, change: LinkChange, expectKind: string | null): IpLink | Promise<IpLink>
}

export interface LinkApi {
  readonly netns: string | undefined
  /** Run requests; kernel errors become NlmonctlErrors described by ctx. */
  call<T>(ctx: OperationContext, fn: (backend: LinkBackend) => T | Promise<T>): Promise<T>
}

/** Each request opens its own socket (in a netns thread when asked): what single commands use. */
export function oneShotApi(netns: string | undefined): LinkApi {
  return {
    netns,
    call: (ctx, fn) =>
      call(ctx, async (native) => {
        const t = target(netns)
        return fn({
          createLink: async (req) => parseLink(await native.createLink(req, t)),
          getLink: async (ref) => parseLink(await native.getLink(ref, t)),
          listLinks: async (kind) => parseLinks(await native.listLinks(kind, t)),
          deleteLink: async (ref, kind) => parseLink(await native.deleteLink(ref, kind, t)),
          setLink: async (ref, change, kind) => parseLink(await native.setLink(ref, change, kind, t)),
        })
      }),
  }
}

/** One NETLINK_ROUTE socket per namespace, opened on first use, reused by every request. */
export class SessionPool {
  private readonly sessions = new Map<string, Addon.NetlinkSession>()

  async api(netns: string | undefined): Promise<LinkApi> {
    const key = netns ?? ''
    let session = this.sessions.get(key)
    if (!session) {
      const native = await loadAddon()
      try {
        session = native.NetlinkSession.open(target(netns))
      } catch (error) {
        throw fromNative(error, { action: 'list', netns })
      }
      this.sessions.set(key, session)
    }
    const open = session
    const backend: LinkBackend = {
      createLink: (req) => parseLink(open.createLink(req)),
      getLink: (ref) => parseLink(open.getLink(ref)),
      listLinks: (kind) => parseLinks(open.listLinks(kind)),
      deleteLink: (ref, kind) => parseLink(open.deleteLink(ref, kind)),
      setLink: (ref, change, kind) => parseLink(open.setLink(ref, change, kind)),
    }
    return {
      netns,
      async call(ctx, fn) {
        try {
          return await fn(backend)
        } catch (error) {
          throw fromNative(error, ctx)
        }
      },
    }
  }

  /** How many sockets this pool opened (one per namespace used). */
  get size(): number {
    return this.sessions.size
  }

  close(): void {
    for (const session of this.sessions.values()) session.close()
    this.sessions.clear()
  }
}
