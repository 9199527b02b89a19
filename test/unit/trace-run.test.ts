// trace's CMD run: a signal that comes before CMD starts (while the link is set up) is not lost.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandRun } from '../../src/commands/trace.js'

test.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s before CMD starts: CMD never runs, status %i', async (signal, status) => {
  const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-trace-run-'))
  try {
    const marker = join(dir, 'ran')
    const run = new CommandRun(['sh', '-c', `touch ${marker}`], undefined, undefined)
    run.kill(signal)
    await run.run()
    expect(run.status).toBe(status)
    expect(existsSync(marker)).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
