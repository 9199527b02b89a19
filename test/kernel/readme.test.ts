// Every command the README shows (each line of its ```sh blocks, outside the generated command reference, whose
// examples test/kernel/batch.test.ts runs) is run here exactly as written: a user copies them. Commands that
// need nlmon run in a guest of the newest kernel of the matrix (documentation, not kernel behaviour: one kernel is
// enough); the ones that set up or boot guests themselves run on this machine. A command this file does not
// know how to run fails the test, naming it, until it is given a place below.
import { readFileSync } from 'node:fs'
import { execa } from 'execa'
import { GuestFixture, ROOT, SURFACE_KERNEL, testLimit } from './guest-fixture.js'

const BOOT_TIMEOUT = testLimit(3 * 60_000)

/** The README's ```sh lines before the command reference: comments (after two spaces and #) dropped. */
export function readmeCommands(readme: string): string[] {
  const prose = readme.slice(0, readme.indexOf('<!-- commands -->'))
  const commands: string[] = []
  for (const block of prose.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const raw of block[1].replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.replace(/\s{2,}#.*$/, '').trim()
      if (line !== '' && !line.startsWith('#')) commands.push(line)
    }
  }
  return commands
}

/** Run elsewhere, and why (each is still checked to be in the README, so that this list cannot go stale). */
const ELSEWHERE: Record<string, string> = {
  'npm test': 'the suite this file is part of (CI runs it through .ci/run)',
  'npm install -g ./packed/nlmonctl-0.1.0.tgz ./packed/nlmonctl-native-linux-x64-gnu-0.1.0.tgz':
    'test/cli/package.test.ts reads this line from the README and runs it against a temporary npm prefix',
  'nlmonctl --version && nlmonctl list':
    'test/cli/package.test.ts runs it with the nlmonctl installed by the line above',
}

/** Commands that set up or boot guests themselves: run on this machine, from the checkout. */
const ON_HOST = /^(npm start|npm run vm\b)/

/** What the guest commands assume exists, as the help examples do: a namespace "blue", links nlmon0. */
const GUEST_SETUP = ['ip netns add blue', 'ip -n blue link add nlmon0 type nlmon', 'ip link add nlmon0 type nlmon']
const CLEAN =
  "ip -o link show type nlmon | awk -F': ' '{print \"link del \" $2}' | ip -force -batch - 2>/dev/null; ip netns del blue 2>/dev/null; true"

const commands = readmeCommands(readFileSync(`${ROOT}README.md`, 'utf8'))

test('the README shows commands, and every one named as run elsewhere is still in it', () => {
  expect(commands.length).toBeGreaterThan(3)
  for (const command of Object.keys(ELSEWHERE)) expect(commands).toContain(command)
  // The package test really reads the install line from the README (it is not a copy that could drift).
  expect(readFileSync(`${ROOT}test/cli/package.test.ts`, 'utf8')).toMatch(/readFileSync\(join\(ROOT, 'README\.md'\)/)
})

describe('README commands run on this machine', () => {
  test.each(commands.filter((c) => ON_HOST.test(c)))(
    '%s',
    async (command) => {
      const run = await execa('sh', ['-c', command], {
        cwd: ROOT,
        reject: false,
        all: true,
        timeout: testLimit(600_000),
      })
      expect({ command, exitCode: run.exitCode, output: run.exitCode === 0 ? '' : run.all }).toEqual({
        command,
        exitCode: 0,
        output: '',
      })
    },
    testLimit(600_000),
  )
})

const inGuest = commands.filter((c) => !ON_HOST.test(c) && !Object.hasOwn(ELSEWHERE, c))
// (no guest is booted while the README shows no command that needs one)
if (inGuest.length > 0)
  describe('README commands run in a guest', () => {
    const vm = new GuestFixture()
    beforeAll(() => vm.boot(SURFACE_KERNEL), BOOT_TIMEOUT)
    afterAll(() => vm.close())
    afterEach(() => vm.sh(CLEAN))

    test.each(inGuest)('%s', async (command) => {
      const run = await vm.asUser(command, GUEST_SETUP)
      expect({ command, exitCode: run.exitCode, stderr: run.exitCode === 0 ? '' : run.stderr }).toEqual({
        command,
        exitCode: 0,
        stderr: '',
      })
    })
  })
