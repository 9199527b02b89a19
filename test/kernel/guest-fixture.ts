// The guest as a jest fixture: one boot per test file and kernel, many commands per boot.
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import { bootGuest, kernelsFromEnv, type Guest } from '../../vm/index.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const KERNELS: string[] = kernelsFromEnv()

// Guest commands run under TCG: give each test the harness's own command timeouts, not jest's 60 s.
jest.setTimeout(10 * 60_000)

/** Single-quote for the guest's sh. */
export function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

export interface Run {
  stdout: string
  stderr: string
  exitCode: number
}

export class GuestFixture {
  guest!: Guest

  async boot(kernel: string): Promise<void> {
    this.guest = await bootGuest({ kernel })
  }

  async close(): Promise<void> {
    await this.guest?.close()
  }

  sh(command: string, timeoutMs = 120_000): Promise<Run> {
    return this.guest.run(command, { timeoutMs, env: { NO_COLOR: '1' } })
  }

  cliPath(): string {
    return `${ROOT}bin/run.js`
  }

  /** nlmonctl as a script in the guest runs it. */
  cli(...args: string[]): Promise<Run> {
    return this.sh(`node ${ROOT}bin/run.js ${args.map(q).join(' ')}`)
  }

  async json<T = unknown>(command: string): Promise<T> {
    const run = await this.sh(command)
    if (run.exitCode !== 0) throw new Error(`${command} exited ${run.exitCode}: ${run.stderr}`)
    return JSON.parse(run.stdout) as T
  }

  /** iproute2's own view: the tool nobody here wrote. */
  ipLinks(netns?: string): Promise<IpLink[]> {
    return this.json<IpLink[]>(`ip ${netns ? `-n ${q(netns)} ` : ''}-j -d -s link show`)
  }

  async ipLink(name: string, netns?: string): Promise<IpLink | undefined> {
    return (await this.ipLinks(netns)).find((link) => link.ifname === name)
  }
}

export interface IpLink {
  ifindex: number
  ifname: string
  flags: string[]
  mtu: number
  operstate: string
  txqlen: number
  group: string
  link_type: string
  ifalias?: string
  min_mtu?: number
  max_mtu?: number
  linkinfo?: { info_kind?: string }
  stats64?: { rx: Record<string, number>; tx: Record<string, number> }
  [key: string]: unknown
}

/** The link table minus the counters, which netlink traffic (ours included) keeps moving. */
export function shape(links: IpLink[]): unknown[] {
  return links.map(({ stats64: _stats, ...rest }) => rest)
}
