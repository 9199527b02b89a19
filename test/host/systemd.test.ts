// The systemd unit template shipped in the package (systemd/nlmonctl-capture@.service), checked by
// systemd's own `systemd-analyze verify` — installed into a temporary folder with its ExecStart pointed
// at this checkout's bin/run.js (verify refuses a binary that does not exist). A deliberately broken
// copy must fail the same check, so a verify that accepts anything would be caught.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { ROOT } from '../helpers/cli.js'

const UNIT = 'nlmonctl-capture@.service'
const shipped = readFileSync(join(ROOT, 'systemd', UNIT), 'utf8')
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nlmonctl-unit-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Install `text` as the template in a fresh folder and verify one instance of it. */
async function verify(name: string, text: string, instance = 'blue') {
  const folder = join(dir, name)
  mkdirSync(folder)
  writeFileSync(join(folder, UNIT), text)
  const run = await execa('systemd-analyze', ['verify', '--man=no', join(folder, UNIT.replace('@', `@${instance}`))], {
    reject: false,
  })
  if (run.exitCode === 127 || (run.failed && run.exitCode === undefined))
    throw new Error(`systemd-analyze is needed for this test: ${run.message}`)
  return run
}

const installed = shipped.replace('/usr/bin/nlmonctl', join(ROOT, 'bin/run.js'))

test('systemd-analyze verify accepts the unit, for a named namespace and for the host (/proc/1/ns/net)', async () => {
  expect(installed).not.toBe(shipped)
  for (const [name, instance] of [
    ['named', 'blue'],
    ['host', '-proc-1-ns-net'],
  ]) {
    const run = await verify(name, installed, instance)
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' })
  }
})

test('the same check fails a broken copy (its ExecStart missing)', async () => {
  const run = await verify('broken', installed.replace(join(ROOT, 'bin/run.js'), '/nonexistent/nlmonctl'))
  expect(run.exitCode).not.toBe(0)
  expect(run.stderr).toMatch(/\/nonexistent\/nlmonctl is not executable/)
})

test('the unit records with bounded disk and the capabilities it needs only', () => {
  const exec = /^ExecStart=(.*)$/m.exec(shipped)?.[1] ?? ''
  expect(exec).toBe(
    '/usr/bin/nlmonctl capture --netns %I -w /var/lib/nlmonctl/%i/nl-%%Y%%m%%d-%%H%%M%%S.pcap -G 3600 -C 50 -W 48',
  )
  expect(shipped).toMatch(/^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN$/m)
  expect(shipped).toMatch(/^ProtectSystem=strict$/m)
  expect(shipped).toMatch(/^StateDirectory=nlmonctl\/%i$/m)
  expect(shipped).toMatch(/^Restart=on-failure$/m)
})

test('the package ships the unit (package.json "files")', async () => {
  const run = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT })
  const files = (JSON.parse(run.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path)
  expect(files).toContain(`systemd/${UNIT}`)
})
