// The README's command reference is generated from the commands (npm run docs = oclif readme over the
// built manifest). Regenerate it into a copy and require the copy to equal the README: any drift fails.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { ROOT } from '../helpers/cli.js'

const section = (text: string) => {
  const start = text.indexOf('<!-- commands -->')
  const end = text.indexOf('<!-- commandsstop -->')
  expect(start).toBeGreaterThan(0)
  expect(end).toBeGreaterThan(start)
  return text.slice(start, end)
}

test('README command reference == what the commands generate (run `npm run docs` after changing a command)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-docs-'))
  try {
    const copy = join(dir, 'README.md')
    copyFileSync(`${ROOT}README.md`, copy)
    await execa(
      `${ROOT}node_modules/.bin/oclif`,
      ['readme', '--no-source-links', '--no-aliases', '--readme-path', copy],
      {
        cwd: ROOT,
        env: { OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
      },
    )
    const readme = readFileSync(`${ROOT}README.md`, 'utf8')
    const generated = readFileSync(copy, 'utf8')
    expect(section(readme)).toEqual(section(generated))
    // Every command of the CLI is in it, with its examples.
    const manifest = JSON.parse(readFileSync(`${ROOT}oclif.manifest.json`, 'utf8')) as {
      commands: Record<string, { hidden?: boolean }>
    }
    // Topics' commands (extcap:install) are shown with spaces; hidden ones (extcap run, what Wireshark calls) are not shown.
    for (const [id, command] of Object.entries(manifest.commands))
      if (!command.hidden) expect(section(readme)).toContain(`## \`nlmonctl ${id.replace(/:/g, ' ')}`)
    expect(section(readme)).toContain("printf 'add mon0 --down")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 180_000)
