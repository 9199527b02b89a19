// src/core/stdio.ts: the lean path's stdout/stderr through write(2) — the bytes as given, a reader
// that went away is no error, and isTerminal() tells terminals from files, pipes and /dev/null.
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { fdStdio, isTerminal } from '../../src/core/stdio.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-stdio-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

test('writes strings and bytes, in order, to its descriptors', () => {
  const out = openSync(join(dir, 'out'), 'w')
  const err = openSync(join(dir, 'err'), 'w')
  const io = fdStdio(out, err)
  io.out('[{"ifname":"ü"}')
  io.out(Buffer.from(',{}]\n'))
  io.err('nlmonctl add: no\n')
  io.out('x'.repeat(1 << 20))
  closeSync(out)
  closeSync(err)
  expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('[{"ifname":"ü"},{}]\n' + 'x'.repeat(1 << 20))
  expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('nlmonctl add: no\n')
  expect(io.isTTY).toBe(false)
})

test('a reader that went away (| head) is no error: the rest is dropped', async () => {
  const fifo = join(dir, 'fifo')
  await execa('mkfifo', [fifo])
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  const writer = openSync(fifo, constants.O_WRONLY)
  closeSync(reader)
  const io = fdStdio(writer, writer)
  expect(() => io.out('a line nobody reads\n')).not.toThrow()
  expect(() => io.out('and another\n')).not.toThrow()
  closeSync(writer)
})

test('isTerminal: files, pipes and /dev/null are not terminals (a pseudo-terminal is: test/cli/lean.test.ts)', async () => {
  const file = openSync(join(dir, 'f'), 'w')
  const devnull = openSync('/dev/null', 'w')
  const fifo = join(dir, 'fifo')
  await execa('mkfifo', [fifo])
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  expect([isTerminal(file), isTerminal(devnull), isTerminal(reader), isTerminal(987654)]).toEqual([
    false,
    false,
    false,
    false,
  ])
  for (const fd of [file, devnull, reader]) closeSync(fd)
})
