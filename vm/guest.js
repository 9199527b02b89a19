// @ts-check
// Boots a Debian stock kernel under QEMU (TCG) with this machine's root as the guest's root (read-only 9p,
// chrooted) and runs shell commands in it through an agent on a virtio-serial port.
import { execa } from 'execa'
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildInitramfs, PORT_NAME, ROOT_TAG, SHARE_TAG } from './initramfs.js'
import { cacheDir, fetchKernel } from './kernels.js'
import { tail } from './apt.js'
import { ensureQemu } from './qemu.js'

const VM_DIR = path.dirname(fileURLToPath(import.meta.url))
/** The checkout's root: the guest sees it at the same path (read-only) and runs commands there. */
export const REPO_ROOT = path.resolve(VM_DIR, '..')
const AGENT = path.join(VM_DIR, 'guest-agent.cjs')

// Three attempts must fit the suites' 15-minute boot hooks.
const DEFAULT_BOOT_TIMEOUT_MS = 240_000
const DEFAULT_COMMAND_TIMEOUT_MS = 45_000
/** How long past a command's own timeout the host waits before it declares the guest unresponsive. */
const HOST_GRACE_MS = 30_000
/**
 * The guest's speed is measured as the start-up of `node -e 0` in it (what nearly every test command pays
 * first). The suites' command limits were set for a quiet 2-core machine, where that takes about this long.
 */
const REFERENCE_NODE_START_MS = 600
/** The slowness factor is kept within [1, MAX_SLOWNESS]: a guest slower than that is reported, not waited on. */
export const MAX_SLOWNESS = 5
/** A measured slowness is trusted this long; then the next slowness() call measures again (load changes). */
const SLOWNESS_TTL_MS = 120_000
const KEEP_CONSOLE_LOGS = 20
/** Kernel command line: serial console, power off on panic (QEMU then exits), no mitigations (TCG is slow enough). */
const KERNEL_ARGS = ['console=ttyS0', 'panic=-1', 'mitigations=off', 'loglevel=4', '8250.nr_uarts=1']

/**
 * @typedef {object} RunOptions
 * @property {number} [timeoutMs] the command (its whole process group) is killed after this long; default 45 s
 * @property {Record<string, string | undefined>} [env] added to (or, with undefined, removed from) the guest's
 *   base environment (PATH, HOME=/tmp/home, LANG=C.UTF-8, TERM=dumb)
 * @property {(chunk: Buffer) => void} [onStdout] called with the command's output as it comes (it is in the
 *   result too)
 * @property {(chunk: Buffer) => void} [onStderr] likewise for its standard error
 */

/**
 * @typedef {object} RunResult
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} exitCode 128+N when killed by signal N
 * @property {string | null} signal
 * @property {number} durationMs as measured in the guest
 */

/**
 * Error of a command that did not finish in time (its process group was killed) or of a guest that stopped
 * answering. Carries what the command had printed.
 */
export class GuestCommandError extends Error {
  /**
   * @param {string} message
   * @param {{ stdout?: string, stderr?: string, exitCode?: number, timedOut?: boolean }} details
   */
  constructor(message, details) {
    super(message)
    this.name = 'GuestCommandError'
    this.stdout = details.stdout ?? ''
    this.stderr = details.stderr ?? ''
    this.exitCode = details.exitCode
    this.timedOut = details.timedOut ?? false
  }
}

/**
 * @param {string} value
 * @returns {string}
 */
function shellQuote(value) {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/**
 * A value inside a QEMU option list (commas doubled).
 * @param {string} value
 */
function qemuOpt(value) {
  return value.replace(/,/g, ',,')
}

/**
 * @param {string} logs
 * @param {string} kernel
 * @returns {Promise<string>}
 */
async function consoleLogPath(logs, kernel) {
  await mkdir(logs, { recursive: true })
  const entries = (await readdir(logs)).filter((f) => f.endsWith('.console.log')).sort()
  for (const old of entries.slice(0, Math.max(0, entries.length - KEEP_CONSOLE_LOGS + 1))) {
    await rm(path.join(logs, old), { force: true })
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  return path.join(logs, `${stamp}-${kernel}-${process.pid}-${Math.random().toString(36).slice(2, 6)}.console.log`)
}

/**
 * @param {string} file
 * @param {number} lines
 */
async function logTail(file, lines) {
  try {
    return tail((await readFile(file, 'utf8')).replace(/\r/g, ''), lines)
  } catch {
    return '(no console output)'
  }
}

/**
 * Removes run folders (os.tmpdir()/nlmonctl-vm-PID-*) left by processes that died without closing their guest.
 */
async function sweepStaleRunDirs() {
  const tmp = os.tmpdir()
  let entries
  try {
    entries = await readdir(tmp)
  } catch {
    return
  }
  for (const entry of entries) {
    const m = /^nlmonctl-vm-(\d+)-/.exec(entry)
    if (!m) continue
    const pid = Number(m[1])
    try {
      process.kill(pid, 0)
      continue // its owner is alive
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM') continue
    }
    await rm(path.join(tmp, entry), { recursive: true, force: true }).catch(() => {})
  }
}

/** A booted guest. Create it with bootGuest(). */
export class Guest {
  /**
   * @param {object} init
   * @param {string} init.kernel
   * @param {string} init.release
   * @param {string} init.consoleLog
   * @param {string} init.runDir
   * @param {string} init.shareDir
   * @param {number} init.bootMs
   * @param {import('execa').ResultPromise} init.qemu
   * @param {net.Socket} init.socket
   * @param {net.Server} init.server
   * @param {() => void} init.exitHook
   * @param {(listener: (message: any) => void) => void} init.onMessage
   * @param {Promise<unknown>} init.qemuExited
   */
  constructor(init) {
    /** the kernel's name (bookworm, sid, …) */
    this.kernel = init.kernel
    /** `uname -r` in the guest */
    this.release = init.release
    /** file with the guest's serial console (kernel messages, init and agent output) */
    this.consoleLog = init.consoleLog
    /** writable folder shared with the guest, at the same absolute path on both sides; removed by close() */
    this.shareDir = init.shareDir
    /** milliseconds from starting QEMU to the agent's first message */
    this.bootMs = init.bootMs
    /** the last measured `node -e 0` start-up in the guest (see slowness()), in milliseconds */
    this.lastNodeStartMs = 0
    this.#runDir = init.runDir
    this.#qemu = init.qemu
    this.#socket = init.socket
    this.#server = init.server
    this.#exitHook = init.exitHook
    this.#qemuExited = init.qemuExited
    init.onMessage((message) => this.#onMessage(message))
    this.#qemuExited.then(() => this.#failAll(`QEMU exited while the command was running`))
  }

  #runDir
  #qemu
  #socket
  #server
  #exitHook
  #qemuExited
  #nextId = 1
  /** @type {Promise<void> | undefined} */
  #closing
  /** @type {{ at: number, value: Promise<number> } | undefined} */
  #slowness
  /** @type {Map<number, { resolve: (r: RunResult) => void, reject: (e: Error) => void, timer: NodeJS.Timeout, command: string, timeoutMs: number, onStdout?: (chunk: Buffer) => void, onStderr?: (chunk: Buffer) => void }>} */
  #pending = new Map()

  /** @param {any} message */
  #onMessage(message) {
    if (message?.t === 'out') {
      const entry = this.#pending.get(message.id)
      const sink = message.fd === 2 ? entry?.onStderr : entry?.onStdout
      if (sink) sink(Buffer.from(message.data ?? '', 'base64'))
      return
    }
    if (message?.t !== 'done') return
    const entry = this.#pending.get(message.id)
    if (!entry) return
    this.#pending.delete(message.id)
    clearTimeout(entry.timer)
    const stdout = Buffer.from(message.stdout ?? '', 'base64').toString('utf8')
    const stderr = Buffer.from(message.stderr ?? '', 'base64').toString('utf8')
    if (message.timedOut) {
      // The message carries what is needed to tell a hang from slowness: the command's last output (with the
      // agent's account of where its processes were stuck) and the guest kernel's last console lines.
      logTail(this.consoleLog, 20).then((log) =>
        entry.reject(
          new GuestCommandError(
            `command timed out after ${entry.timeoutMs} ms in the ${this.kernel} guest (killed): ${entry.command}\n` +
              `its stderr (end):\n${stderr.slice(-3000)}\nits stdout (end):\n${stdout.slice(-500)}\n` +
              `last console lines (${this.consoleLog}):\n${log}`,
            { stdout, stderr, exitCode: message.exitCode, timedOut: true },
          ),
        ),
      )
      return
    }
    entry.resolve({
      stdout,
      stderr,
      exitCode: message.exitCode,
      signal: message.signal ?? null,
      durationMs: message.ms,
    })
  }

  /** @param {string} why */
  async #failAll(why) {
    if (this.#pending.size === 0) return
    const log = await logTail(this.consoleLog, 40)
    for (const [id, entry] of this.#pending) {
      this.#pending.delete(id)
      clearTimeout(entry.timer)
      entry.reject(
        new GuestCommandError(
          `${why} (${this.kernel} guest): ${entry.command}\nlast console lines (${this.consoleLog}):\n${log}`,
          {},
        ),
      )
    }
  }

  /**
   * Runs a shell command line (`/bin/sh -c`) in the guest as root, in the chroot of the host's root, with the
   * checkout as its working directory and no standard input.
   * @param {string} command
   * @param {RunOptions} [options]
   * @returns {Promise<RunResult>} resolves whatever the exit code; rejects with GuestCommandError on a timeout
   */
  run(command, options = {}) {
    if (this.#closing) return Promise.reject(new Error(`the ${this.kernel} guest is closed`))
    if (this.#qemu.exitCode !== null) return Promise.reject(new Error(`the ${this.kernel} guest is no longer running`))
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    /** @type {Record<string, string | null>} */
    const env = {}
    for (const [key, value] of Object.entries(options.env ?? {})) env[key] = value === undefined ? null : String(value)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        logTail(this.consoleLog, 40).then((log) =>
          reject(
            new GuestCommandError(
              `the ${this.kernel} guest did not answer within ${timeoutMs + HOST_GRACE_MS} ms: ${command}\nlast console lines (${this.consoleLog}):\n${log}`,
              { timedOut: true },
            ),
          ),
        )
      }, timeoutMs + HOST_GRACE_MS)
      const { onStdout, onStderr } = options
      this.#pending.set(id, { resolve, reject, timer, command, timeoutMs, onStdout, onStderr })
      const stream = Boolean(onStdout || onStderr)
      this.#socket.write(`${JSON.stringify({ t: 'run', id, cmd: command, env, timeoutMs, stream })}\n`)
    })
  }

  /**
   * How many times slower than the reference machine this guest runs now: the median of three `node -e 0`
   * start-ups in the guest over REFERENCE_NODE_START_MS, within [1, MAX_SLOWNESS]. Measured on first use and again
   * once the last measure is two minutes old, so that limits follow a machine whose load changes. Tests scale their
   * command limits by it; run() itself never does (its timeoutMs is exact).
   * @returns {Promise<number>}
   */
  slowness() {
    const now = Date.now()
    if (!this.#slowness || now - this.#slowness.at > SLOWNESS_TTL_MS) {
      const value = (async () => {
        /** @type {number[]} */
        const samples = []
        for (let i = 0; i < 3; i++) {
          const probe = await this.run('node -e 0', { timeoutMs: 60_000 })
          if (probe.exitCode !== 0) throw new Error(`node -e 0 exited ${probe.exitCode} in the ${this.kernel} guest`)
          samples.push(probe.durationMs)
        }
        const median = samples.sort((a, b) => a - b)[1]
        this.lastNodeStartMs = median
        return Math.min(MAX_SLOWNESS, Math.max(1, median / REFERENCE_NODE_START_MS))
      })()
      this.#slowness = { at: now, value }
      // A failed measure is not cached: the next call tries again.
      value.catch(() => {
        if (this.#slowness?.value === value) this.#slowness = undefined
      })
    }
    return this.#slowness.value
  }

  /**
   * Powers the guest off (kills QEMU if it does not stop within 15 s) and removes its temporary folders.
   * Safe to call more than once.
   * @returns {Promise<void>}
   */
  close() {
    this.#closing ??= (async () => {
      if (this.#qemu.exitCode === null) {
        try {
          this.#socket.write(`${JSON.stringify({ t: 'poweroff' })}\n`)
        } catch {
          // the channel is gone: kill below
        }
        /** @type {NodeJS.Timeout | undefined} */
        let timer
        const stopped = await Promise.race([
          this.#qemuExited.then(() => true),
          new Promise((resolve) => {
            timer = setTimeout(() => resolve(false), 15_000)
          }),
        ])
        clearTimeout(timer)
        if (!stopped) {
          this.#qemu.kill('SIGKILL')
          await this.#qemuExited
        }
      }
      await this.#failAll('the guest was closed')
      this.#socket.destroy()
      this.#server.close()
      process.removeListener('exit', this.#exitHook)
      await rm(this.#runDir, { recursive: true, force: true })
    })()
    return this.#closing
  }
}

/**
 * @typedef {object} BootOptions
 * @property {string} [kernel] bookworm (default), trixie, sid or experimental
 * @property {number} [memoryMiB] guest memory, default 1024
 * @property {number} [cpus] guest CPUs, default 2
 * @property {number} [timeoutMs] from starting QEMU to the agent being ready, default 240 s (does not include fetching)
 * @property {boolean} [cacheRoot] cache the host root's files in the guest (9p cache=loose): each exec is about
 *   40 % faster, but a file the guest has already read and the host then changes may be seen as it was. Default
 *   on; NLMONCTL_VM_ROOT_CACHE=0 turns it off. The writable share is never cached.
 * @property {string[]} [kernelArgs] more kernel command line parameters (NLMONCTL_VM_KERNEL_ARGS adds more too)
 * @property {(line: string) => void} [log] progress lines (downloads, boot)
 */

/**
 * The guest's kernel died or hung during boot (QEMU exited, or the agent did not answer in time): worth another
 * boot.
 */
export class BootCrash extends Error {}

/**
 * Boots a guest (fetching and building what is missing first) and waits for its command agent.
 * Under TCG a kernel occasionally dies early in boot (seen on 7.2: an int3 Oops in sched_clock_cpu
 * while text was being patched, then a panic), and QEMU exits at once: such a boot is tried again,
 * three attempts in all (BootCrash after the third). So is a boot that hangs (seen on 7.2 in a quiet run: no
 * console output after the firmware's for the whole boot timeout). Any other failure ends it at once.
 * @param {BootOptions} [options]
 * @returns {Promise<Guest>}
 */
export async function bootGuest(options = {}) {
  const log = options.log ?? (() => {})
  for (let attempt = 1; ; attempt++) {
    try {
      return await bootOnce(options)
    } catch (error) {
      if (!(error instanceof BootCrash) || attempt >= 3) throw error
      log(`${error.message.split('\n')[0]}; booting again (attempt ${attempt + 1} of 3)`)
    }
  }
}

/**
 * @param {BootOptions} [options]
 * @returns {Promise<Guest>}
 */
async function bootOnce({
  kernel = 'bookworm',
  memoryMiB = 1024,
  cpus = Number(process.env.NLMONCTL_VM_CPUS) || 2,
  timeoutMs = DEFAULT_BOOT_TIMEOUT_MS,
  cacheRoot,
  kernelArgs = [],
  log = () => {},
} = {}) {
  const qemuPath = await ensureQemu({ log })
  const files = await fetchKernel(kernel, { log })
  const initramfs = await buildInitramfs(files.kernel, files.busybox)
  const consoleLog = await consoleLogPath(path.join(cacheDir(), 'logs'), kernel)
  const rootCache = cacheRoot ?? !['0', 'false', 'no'].includes(process.env.NLMONCTL_VM_ROOT_CACHE ?? '')

  await sweepStaleRunDirs()
  const runDir = await mkdtemp(path.join(os.tmpdir(), `nlmonctl-vm-${process.pid}-`))
  const exitHook = () => rmSync(runDir, { recursive: true, force: true })
  process.on('exit', exitHook)
  const shareDir = path.join(runDir, 'share')
  const socketPath = path.join(runDir, 'ctl.sock')
  /** @type {net.Server | undefined} */
  let server
  /** @type {import('execa').ResultPromise | undefined} */
  let qemu
  try {
    await mkdir(shareDir)
    const node = process.execPath
    await writeFile(
      path.join(shareDir, 'boot.sh'),
      [
        `NLM_SHARE=${shellQuote(shareDir)}`,
        `NLM_CWD=${shellQuote(REPO_ROOT)}`,
        `NLM_NODE=${shellQuote(node)}`,
        `NLM_AGENT=${shellQuote(AGENT)}`,
        `NLM_AGENT_DIR=${shellQuote(path.dirname(AGENT))}`,
        `NLM_NODE_DIR=${shellQuote(path.dirname(node))}`,
        `NLM_ROOT_CACHE=${rootCache ? 'loose' : 'none'}`,
        '',
      ].join('\n'),
    )

    const srv = net.createServer()
    server = srv
    /** @type {Promise<net.Socket>} */
    const connected = new Promise((resolve) => srv.once('connection', resolve))
    await new Promise((resolve, reject) => {
      srv.once('error', reject)
      srv.listen(socketPath, () => resolve(undefined))
    })

    const args = [
      ...['-accel', 'tcg,thread=multi', '-cpu', 'max', '-m', String(memoryMiB), '-smp', String(cpus)],
      ...['-nodefaults', '-nographic', '-no-reboot', '-monitor', 'none', '-serial', `file:${consoleLog}`],
      ...['-kernel', files.kernel.vmlinuz, '-initrd', initramfs],
      ...[
        '-append',
        [
          ...KERNEL_ARGS,
          ...kernelArgs,
          ...(process.env.NLMONCTL_VM_KERNEL_ARGS ?? '').split(/\s+/).filter(Boolean),
        ].join(' '),
      ],
      ...['-virtfs', `local,path=/,mount_tag=${ROOT_TAG},security_model=none,readonly=on,multidevs=remap`],
      ...['-virtfs', `local,path=${qemuOpt(shareDir)},mount_tag=${SHARE_TAG},security_model=none,multidevs=remap`],
      ...['-chardev', `socket,id=ctl,path=${qemuOpt(socketPath)}`],
      ...[
        '-device',
        'virtio-serial-pci,id=vser0',
        '-device',
        `virtserialport,bus=vser0.0,chardev=ctl,name=${PORT_NAME}`,
      ],
    ]
    const started = Date.now()
    log(`booting ${kernel} (${files.kernel.release}) under TCG; console: ${consoleLog}`)
    const proc = execa(qemuPath, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, all: true })
    qemu = proc
    const qemuExited = proc.then(
      (r) => r,
      (e) => e,
    )

    /** @type {Set<(message: any) => void>} */
    const listeners = new Set()
    /** @type {(message: any) => void} */
    let onReady = () => {}
    /** @type {Promise<any>} */
    const ready = new Promise((resolve) => {
      onReady = resolve
    })
    /** @type {net.Socket | undefined} */
    let socket

    const fail = async (/** @type {string} */ why, crashed = false) => {
      const log = await logTail(consoleLog, 40)
      const result = /** @type {any} */ (await Promise.race([qemuExited, Promise.resolve(undefined)]))
      const qemuOut = result?.all ? `\nQEMU said:\n${tail(result.all, 20)}` : ''
      const message = `the ${kernel} guest (${files.kernel.release}) did not come up: ${why}${qemuOut}\nlast console lines (${consoleLog}):\n${log}`
      return crashed ? new BootCrash(message) : new Error(message)
    }

    /** @type {NodeJS.Timeout | undefined} */
    let bootTimer
    const outcome = await Promise.race([
      (async () => {
        socket = await connected
        /** @type {Buffer[]} */
        let partial = []
        socket.on('data', (/** @type {Buffer} */ chunk) => {
          /** @type {string[]} */
          const lines = []
          let start = 0
          let newline
          while ((newline = chunk.indexOf(10, start)) >= 0) {
            partial.push(chunk.subarray(start, newline))
            lines.push(Buffer.concat(partial).toString('utf8'))
            partial = []
            start = newline + 1
          }
          if (start < chunk.length) partial.push(chunk.subarray(start))
          for (const line of lines) {
            let message
            try {
              message = JSON.parse(line)
            } catch {
              continue
            }
            if (message.t === 'ready') onReady(message)
            for (const listener of listeners) listener(message)
          }
        })
        socket.on('error', () => {})
        return { ready: await ready }
      })(),
      qemuExited.then((r) => ({ exited: r })),
      new Promise((resolve) => {
        bootTimer = setTimeout(() => resolve({ timeout: true }), timeoutMs)
      }),
    ])
    clearTimeout(bootTimer)
    const o = /** @type {any} */ (outcome)
    if (!o.ready) {
      if (o.timeout) {
        proc.kill('SIGKILL')
        await qemuExited
        throw await fail(`no answer from the agent within ${timeoutMs} ms`, true)
      }
      throw await fail(
        `QEMU exited (code ${o.exited?.exitCode ?? '?'}${o.exited?.signal ? `, ${o.exited.signal}` : ''}) before the agent was ready`,
        true,
      )
    }
    const bootMs = Date.now() - started
    log(`${kernel} guest ready in ${bootMs} ms (guest uptime ${o.ready.uptime} s): ${o.ready.release}`)
    return new Guest({
      kernel,
      release: o.ready.release,
      consoleLog,
      runDir,
      shareDir,
      bootMs,
      qemu: proc,
      socket: /** @type {net.Socket} */ (socket),
      server: srv,
      exitHook,
      onMessage: (listener) => listeners.add(listener),
      qemuExited,
    })
  } catch (error) {
    if (qemu && qemu.exitCode === null) {
      qemu.kill('SIGKILL')
      await qemu.catch(() => {})
    }
    server?.close()
    process.removeListener('exit', exitHook)
    await rm(runDir, { recursive: true, force: true })
    throw error
  }
}
