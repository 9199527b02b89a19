// @ts-check
// Command agent that runs inside the QEMU guest, chrooted in the host's root (started by the initramfs's init,
// with the host's own node). It talks newline-delimited JSON over a virtio-serial port:
//   host -> guest  {"t":"run","id":1,"cmd":"…","env":{…},"timeoutMs":60000,"stream":false}   |  {"t":"poweroff"}
//   guest -> host  {"t":"ready","release":"…","uptime":1.2}
//                  {"t":"out","id":1,"fd":1,"data":"<base64>"}   (only with "stream":true, as output comes)
//                  {"t":"done","id":1,"exitCode":0,"signal":null,"timedOut":false,"stdout":"<base64>","stderr":"<base64>","ms":12}
// Each command runs as `/bin/sh -c CMD` in its own process group, stdin /dev/null, cwd NLM_CWD (the checkout).
'use strict'
const fs = require('node:fs')
const os = require('node:os')
const { spawn } = require('node:child_process')
const { StringDecoder } = require('node:string_decoder')

const portName = process.env.NLM_PORT_NAME || 'nlmonctl.0'
const cwd = process.env.NLM_CWD || '/'
/** after the shell exits, how long to wait for background processes to let go of its stdout/stderr */
const PIPE_GRACE_MS = 200

/** @returns {string} */
function findPort() {
  const base = '/sys/class/virtio-ports'
  for (const dev of fs.readdirSync(base)) {
    try {
      if (fs.readFileSync(`${base}/${dev}/name`, 'utf8').trim() === portName) return `/dev/${dev}`
    } catch {
      // not a port with a name
    }
  }
  throw new Error(`no virtio-serial port named ${portName} in ${base}`)
}

const fd = fs.openSync(findPort(), 'r+')

/** @param {object} message */
function send(message) {
  const data = Buffer.from(`${JSON.stringify(message)}\n`)
  let offset = 0
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset)
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'EAGAIN') continue
      throw error
    }
  }
}

/**
 * Each process of a group: pid, state, command line, the kernel function it waits in and its kernel stack.
 * @param {number} pgid
 * @returns {string}
 */
function describeGroup(pgid) {
  const read = (/** @type {string} */ file) => {
    try {
      return fs.readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  const lines = []
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    // stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses
    const stat = read(`/proc/${pid}/stat`)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) !== pgid) continue
    const cmdline = read(`/proc/${pid}/cmdline`).split('\0').join(' ').trim().slice(0, 200)
    const stack = read(`/proc/${pid}/stack`).trim().split('\n').slice(0, 12).join(' < ')
    lines.push(
      `  ${pid} ${fields[0]} wchan=${read(`/proc/${pid}/wchan`) || '-'} ${cmdline}\n    kernel stack: ${stack || '-'}`,
    )
  }
  return `${lines.join('\n') || '  (none left)'}\n`
}

/** @type {Map<number, import('node:child_process').ChildProcess>} */
const running = new Map()

/** @param {number} pid */
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/**
 * @param {{ id: number, cmd: string, env?: Record<string, string | null>, timeoutMs?: number, stream?: boolean }} req
 */
function run(req) {
  const started = Date.now()
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env }
  delete env.NLM_PORT_NAME
  for (const [key, value] of Object.entries(req.env ?? {})) {
    if (value === null || value === undefined) delete env[key]
    else env[key] = String(value)
  }
  /** @type {Buffer[]} */
  const out = []
  /** @type {Buffer[]} */
  const err = []
  let timedOut = false
  let finished = false
  /** @type {NodeJS.Timeout | undefined} */
  let timer
  /** @type {NodeJS.Timeout | undefined} */
  let grace

  /**
   * @param {number} exitCode
   * @param {string | null} signal
   */
  const finish = (exitCode, signal) => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    clearTimeout(grace)
    running.delete(req.id)
    send({
      t: 'done',
      id: req.id,
      exitCode,
      signal,
      timedOut,
      stdout: Buffer.concat(out).toString('base64'),
      stderr: Buffer.concat(err).toString('base64'),
      ms: Date.now() - started,
    })
  }

  let child
  try {
    child = spawn('/bin/sh', ['-c', req.cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  } catch (error) {
    err.push(Buffer.from(`nlmonctl guest agent: cannot start /bin/sh: ${error}\n`))
    finish(127, null)
    return
  }
  running.set(req.id, child)
  child.stdout?.on('data', (chunk) => {
    out.push(chunk)
    if (req.stream) send({ t: 'out', id: req.id, fd: 1, data: chunk.toString('base64') })
  })
  child.stderr?.on('data', (chunk) => {
    err.push(chunk)
    if (req.stream) send({ t: 'out', id: req.id, fd: 2, data: chunk.toString('base64') })
  })
  child.on('error', (error) => {
    err.push(Buffer.from(`nlmonctl guest agent: ${error.message}\n`))
    finish(127, null)
  })
  /** @type {[number, string | null] | undefined} */
  let status
  child.on('exit', (code, signal) => {
    status = [code ?? 128 + (signal ? (os.constants.signals[/** @type {NodeJS.Signals} */ (signal)] ?? 0) : 0), signal]
    // Background processes may still hold the pipes: give them a moment, then stop reading.
    grace = setTimeout(() => {
      child.stdout?.destroy()
      child.stderr?.destroy()
      if (status) finish(status[0], status[1])
    }, PIPE_GRACE_MS)
  })
  child.on('close', () => {
    if (status) finish(status[0], status[1])
  })
  if (req.timeoutMs && req.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true
      if (!child.pid) return
      // Say where the command was stuck before it goes: a hang in CI is otherwise a bare timeout.
      err.push(
        Buffer.from(
          `\n--- nlmonctl guest agent: timed out after ${req.timeoutMs} ms; its processes:\n${describeGroup(child.pid)}`,
        ),
      )
      killGroup(child.pid)
    }, req.timeoutMs)
  }
}

function poweroff() {
  for (const child of running.values()) if (child.pid) killGroup(child.pid)
  try {
    fs.closeSync(fd)
  } catch {
    // closing anyway
  }
  process.exit(0)
}

let pending = ''
const decoder = new StringDecoder('utf8')
const buffer = Buffer.alloc(64 * 1024)
function readLoop() {
  fs.read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
    if (error) {
      if (error.code === 'EAGAIN' || error.code === 'EINTR') return setTimeout(readLoop, 10)
      console.error(`nlmonctl guest agent: read failed: ${error.message}`)
      return poweroff()
    }
    if (bytes === 0) {
      // the host closed its end: nobody is left to serve
      console.error('nlmonctl guest agent: host disconnected')
      return poweroff()
    }
    pending += decoder.write(buffer.subarray(0, bytes))
    let newline
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (!line.trim()) continue
      let message
      try {
        message = JSON.parse(line)
      } catch {
        console.error(`nlmonctl guest agent: bad request ${JSON.stringify(line.slice(0, 200))}`)
        continue
      }
      if (message.t === 'run') run(message)
      else if (message.t === 'poweroff') return poweroff()
    }
    readLoop()
  })
}

send({ t: 'ready', release: os.release(), uptime: os.uptime() })
readLoop()
