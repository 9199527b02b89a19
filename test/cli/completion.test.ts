// Shell completion (oclif's autocomplete plugin) for bash and zsh, generated from the commands
// themselves. The cache goes to a throwaway XDG_CACHE_HOME; bash completion is exercised for real.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { nlmonctl } from '../helpers/cli.js'

let cache: string
beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'nlmonctl-ac-'))
})
afterAll(() => rmSync(cache, { recursive: true, force: true }))

const env = () => ({ XDG_CACHE_HOME: cache, HOME: cache })

test('bash: `nlmonctl autocomplete script bash` sets it up, and completing uses every command and flag', async () => {
  // What a user runs: the instructions (which build the cache), then the line for ~/.bashrc.
  const setup = await nlmonctl(['autocomplete', 'bash'], { env: env() })
  expect(setup.exitCode).toBe(0)
  expect(setup.stdout).toContain('nlmonctl autocomplete script bash')
  const script = await nlmonctl(['autocomplete', 'script', 'bash'], { env: env() })
  expect(script.exitCode).toBe(0)
  expect(script.stdout).toMatch(/NLMONCTL_AC_BASH_SETUP_PATH=.*bash_setup/)
  const functions = join(cache, 'nlmonctl', 'autocomplete', 'functions', 'bash', 'nlmonctl.bash')
  const complete = async (...words: string[]) => {
    const bash = `source ${functions}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _nlmonctl_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
    const r = await execa('bash', ['-c', bash])
    return String(r.stdout).split('\n').filter(Boolean).sort()
  }
  expect(await complete('nlmonctl', 'b')).toEqual(['batch'])
  expect(await complete('nlmonctl', 'd')).toEqual(['del'])
  expect(await complete('nlmonctl', 'batch', '--c')).toEqual(['--continue'])
  expect(await complete('nlmonctl', 'set', '--u')).toEqual(['--up'])
  expect(await complete('nlmonctl', 'add', '--if')).toEqual(['--if-not-exists'])
})

test('zsh: a _nlmonctl completion function naming each command and its flags', async () => {
  expect((await nlmonctl(['autocomplete', 'zsh'], { env: env() })).exitCode).toBe(0)
  const script = await nlmonctl(['autocomplete', 'script', 'zsh'], { env: env() })
  expect(script.exitCode).toBe(0)
  expect(script.stdout).toMatch(/NLMONCTL_AC_ZSH_SETUP_PATH=.*zsh_setup/)
  expect(readFileSync(join(cache, 'nlmonctl', 'autocomplete', 'zsh_setup'), 'utf8')).toContain(
    'autocomplete/functions/zsh',
  )
  const zsh = readFileSync(join(cache, 'nlmonctl', 'autocomplete', 'functions', 'zsh', '_nlmonctl'), 'utf8')
  expect(zsh).toMatch(/^#compdef nlmonctl/)
  for (const [command, flag] of [
    ['add', '--if-not-exists'],
    ['batch', '--continue'],
    ['del', '--if-exists'],
    ['list', '--netns'],
    ['set', '--txqueuelen'],
    ['stats', '--watch'],
  ]) {
    expect(zsh).toContain(`"${command}[`)
    expect(zsh).toContain(`${flag}`)
  }
})
