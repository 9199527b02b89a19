// stdout and stderr for the lean path (src/lean.ts), written with write(2) on file descriptors 1 and 2.
// Node builds process.stdout/stderr on first use — a net.Socket for a pipe (loading net and its
// streams), a tty.WriteStream for a terminal, a SyncWriteStream for a file — 2 to 3 ms each of a
// call's start-up, for one line. The bytes are the same; a reader that went away (| head) is no
// error, as with oclif's EPIPE handler; a non-blocking pipe that is full falls back to the stream.

import { createWriteStream, fstatSync, writeSync } from 'node:fs'
import type { Terminal } from './output.js'

export interface Stdio extends Terminal {
  /** stdout is a terminal (JSON indented, table headers bold unless NO_COLOR). */
  readonly isTTY: boolean
  out(chunk: string | Uint8Array): void
  err(chunk: string | Uint8Array): void
}

/** The process's own streams (what oclif commands use). */
export const processStdio: Stdio = {
  get isTTY() {
    return Boolean(process.stdout.isTTY)
  },
  out: (chunk) => void process.stdout.write(chunk),
  err: (chunk) => void process.stderr.write(chunk),
}

/** Linux's memory devices (/dev/null, zero, full, random…): character devices, never terminals. */
const MEM_MAJOR = 1

/**
 * isatty(fd) without node:tty (which loads net): a terminal is a character device, and the
 * character devices a script sends output to that are not terminals are /dev/null and its kin.
 */
export function isTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd)
    return stat.isCharacterDevice() && Math.floor(stat.rdev / 256) % 4096 !== MEM_MAJOR
  } catch {
    return false
  }
}

/** stdout and stderr through their file descriptors (other descriptors: for the tests). */
export function fdStdio(outFd = 1, errFd = 2): Stdio {
  let isTTY: boolean | undefined
  const gone = new Set<number>()
  const streams = new Map<number, NodeJS.WritableStream>()
  const streamOf = (fd: number): NodeJS.WritableStream => {
    let stream = streams.get(fd)
    if (!stream) {
      stream = fd === 1 ? process.stdout : fd === 2 ? process.stderr : createWriteStream('', { fd, autoClose: false })
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error
      })
      streams.set(fd, stream)
    }
    return stream
  }
  const write = (fd: number, chunk: string | Uint8Array) => {
    if (gone.has(fd)) return
    if (streams.has(fd)) {
      streamOf(fd).write(chunk)
      return
    }
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(fd, data))
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EPIPE') {
          gone.add(fd)
          return
        }
        if (code !== 'EAGAIN') throw error
        // A non-blocking pipe that is full: the stream waits for it (and keeps the order after).
        streamOf(fd).write(data)
        return
      }
    }
  }
  return {
    get isTTY() {
      isTTY ??= isTerminal(outFd)
      return isTTY
    },
    out: (chunk) => write(outFd, chunk),
    err: (chunk) => write(errFd, chunk),
  }
}
