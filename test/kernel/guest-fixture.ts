// The guest as a jest fixture: one boot per test file and kernel, many commands per boot.
import { fileURLToPath } from 'node:url'
import { jest } from '@jest/globals'
import {
  bootGuest,
  fetchModules,
  fetchTools,
  GuestCommandError,
  kernelsFromEnv,
  loadModulesCommand,
  MAX_SLOWNESS,
  newestKernel,
  type Guest,
} from '../../vm/index.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const KERNELS: string[] = kernelsFromEnv()
/**
 * Where the checks of nlmonctl's own surface run (help examples, README commands, the fast path against oclif):
 * they do not depend on the kernel, so one kernel of the matrix is enough; kernel-facing claims run on each.
 */
export const SURFACE_KERNEL: string = newestKernel(KERNELS)

/**
 * A jest limit (a test's, a hook's) for work whose guest commands are limited to `ms` on a quiet machine: the
 * commands' own limits grow with the guest's measured slowness (GuestFixture.sh), so jest allows for the most.
 */
export function testLimit(ms: number): number {
  return ms * MAX_SLOWNESS
}

// Guest commands run under TCG: give each test the harness's own command timeouts, not jest's 60 s.
jest.setTimeout(testLimit(10 * 60_000))

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

  /**
   * Runs a shell command in the guest. `timeoutMs` is its limit on a quiet machine; it is multiplied by the
   * guest's measured slowness (a loaded machine is slower, not broken), and a timeout says by how much.
   */
  async sh(command: string, timeoutMs = 120_000): Promise<Run> {
    const slowness = await this.guest.slowness()
    const limit = Math.round(timeoutMs * slowness)
    try {
      return await this.guest.run(command, { timeoutMs: limit, env: { NO_COLOR: '1' } })
    } catch (error) {
      if (error instanceof GuestCommandError) {
        error.message =
          `${error.message}\n(limit ${timeoutMs} ms × slowness ${slowness.toFixed(2)}: ` +
          `node -e 0 took ${this.guest.lastNodeStartMs} ms in this guest)`
      }
      throw error
    }
  }

  /**
   * The tools this machine lacks (vm/tools.js: iw, ethtool, wg, conntrack and their missing libraries), fetched
   * into the cache the first time: a shell prefix that puts them first on PATH and LD_LIBRARY_PATH.
   */
  async toolsEnv(): Promise<string> {
    const tools = await fetchTools()
    return `export PATH=${q(tools.bin)}:"$PATH" LD_LIBRARY_PATH=${q(tools.lib)};`
  }

  /**
   * Loads kernel modules the boot does not load (mac80211_hwsim, wireguard, …), with their dependencies, from
   * this guest kernel's own packages (vm/tools.js); the guest has no kmod, so finit_module(2) from python3.
   */
  async loadModules(names: string[]): Promise<void> {
    const { files } = await fetchModules(this.guest.kernel, names)
    if (files.length === 0) return
    const run = await this.sh(loadModulesCommand(files))
    if (run.exitCode !== 0) throw new Error(`loading ${names.join(', ')} in the guest failed: ${run.stderr}`)
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

  /**
   * How many 0.05 s polls a guest script may make for a live command's readiness line: 240 s on a quiet machine
   * (node starts in 2-4 s under TCG), scaled by the guest's measured slowness like every limit.
   */
  async readinessPolls(): Promise<number> {
    return Math.round(4800 * (await this.guest.slowness()))
  }

  /**
   * Runs a command line as a user would type it at a shell (`nlmonctl` on the PATH, in /tmp), after `setup`
   * (each line's failure ignored). A command that runs until interrupted (--watch, a live capture or trace
   * without --duration/-r) is interrupted with SIGINT once it is ready — never after a fixed time, which a busy
   * machine outlasts: a capture once it printed its readiness line, a watch once it printed its first interval.
   * If neither comes within the (slowness-scaled) bound, or the command ends first, it is interrupted or reaped
   * as it is, and the exit code and stderr say what happened. Some netlink traffic runs meanwhile.
   */
  async asUser(line: string, setup: string[] = []): Promise<Run> {
    const wrapper = `mkdir -p /tmp/nlbin && printf '#!/bin/sh\\nexec node ${ROOT}bin/run.js "$@"\\n' > /tmp/nlbin/nlmonctl && chmod +x /tmp/nlbin/nlmonctl`
    const live = /--watch|^nlmonctl (capture|trace)\b/.test(line) && !/ -r |--duration|--count| -c | -- /.test(line)
    const ready = /--watch/.test(line) ? '[ -s /tmp/ex.out ]' : 'grep -q "^listening on" /tmp/ex.err'
    const polls = await this.readinessPolls()
    const bounded = live
      ? `rm -f /tmp/ex.out /tmp/ex.err; ${line} >/tmp/ex.out 2>/tmp/ex.err & P=$!; i=0; ` +
        `until ${ready}; do i=$((i+1)); { [ $i -gt ${polls} ] || ! kill -0 $P 2>/dev/null; } && break; sleep 0.05; done; ` +
        'kill -INT $P 2>/dev/null; wait $P; rc=$?; cat /tmp/ex.out; cat /tmp/ex.err >&2; exit $rc'
      : line
    const traffic = '(for i in $(seq 20); do sleep 0.4; ip link show; done) >/dev/null 2>&1 &'
    const prepared = [wrapper, ...setup.map((c) => `${c} >/dev/null 2>&1`)].join('; ')
    return this.sh(`${prepared}; export PATH=/tmp/nlbin:$PATH; cd /tmp; ${traffic} ${bounded}`, 300_000)
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
