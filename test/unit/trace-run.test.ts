// trace's CMD run: a signal that comes before CMD starts (while the link is set up) is not lost; CMD's
// status becomes trace's; CMD dies with the process that started it.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CommandRun } from '../../src/commands/trace.js'

test.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s before CMD starts: CMD never runs, status %i', async (signal, status) => {
  const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-trace-run-'))
  try {
    const marker = join(dir, 'ran')
    const run = new CommandRun(['sh', '-c', `touch ${marker}`], undefined)
    run.kill(signal)
    await run.run()
    expect(run.status).toBe(status)
    expect(existsSync(marker)).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("CMD's status: its exit code, 128+N after signal N, 127 with execa's line when it cannot start", async () => {
  const statusOf = async (command: string[]) => {
    const run = new CommandRun(command, undefined)
    await run.run()
    return [run.status, run.startError]
  }
  expect(await statusOf(['sh', '-c', 'exit 7'])).toEqual([7, undefined])
  expect(await statusOf(['sh', '-c', 'kill -TERM $$'])).toEqual([143, undefined])
  expect(await statusOf(['/nonexistent/cmd', 'a'])).toEqual([127, 'Command failed with ENOENT: /nonexistent/cmd a'])
  expect(await statusOf(['nlmonctl-no-such-command'])).toEqual([
    127,
    'Command failed with ENOENT: nlmonctl-no-such-command',
  ])
  expect(await statusOf([tmpdir()])).toEqual([127, `Command failed with EACCES: ${tmpdir()}`])
})

test('a SIGTERM forwarded to a running CMD ends it: 143', async () => {
  const run = new CommandRun(['sleep', '1000'], undefined)
  const done = run.run()
  // CMD is running once the pid is known; wait for that, bounded.
  for (let i = 0; i < 500 && (run as unknown as { pid?: number }).pid === undefined; i++) await sleep(10)
  run.kill('SIGTERM')
  await done
  expect(run.status).toBe(143)
})

test('CMD starts with SIGPIPE and SIGXFSZ at their defaults, not ignored as in node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-trace-run-'))
  try {
    const out = join(dir, 'status')
    const run = new CommandRun(['sh', '-c', `grep SigIgn /proc/self/status > ${out}`], undefined)
    await run.run()
    expect(run.status).toBe(0)
    const ignored = BigInt('0x' + readFileSync(out, 'utf8').split(/\s+/)[1])
    expect(ignored & (1n << 12n)).toBe(0n) // SIGPIPE (13)
    expect(ignored & (1n << 24n)).toBe(0n) // SIGXFSZ (25)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the kernel kills CMD when the process that started it is SIGKILLed (PR_SET_PDEATHSIG)', async () => {
  // A node process starts `sleep 1000` through the addon and prints its pid; SIGKILL that node.
  const native = join(process.cwd(), 'native', 'index.js')
  const parent = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { spawnCommand } from ${JSON.stringify(native)}; console.log(spawnCommand('sleep', ['1000'])); setInterval(() => {}, 1000)`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  parent.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    parent.once('exit', () => reject(new Error(`the parent ended before printing a pid: ${stderr}`)))
  })
  expect(existsSync(`/proc/${pid}`)).toBe(true)
  parent.kill('SIGKILL')
  // Gone (or a zombie waiting for init to reap it) within a generous bound.
  const gone = () => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  for (let i = 0; i < 1000 && !gone(); i++) await sleep(10)
  expect(gone()).toBe(true)
})
