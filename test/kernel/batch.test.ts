// Issue 5 on real nlmon links (Debian's stock kernels in the guest): batch adds and dels, list and
// stats over 1,000 links (the CI-sized scale run; bench/ does 10,000), and every example of every
// command's help run as written.
import { readFileSync } from 'node:fs'
import { GuestFixture, KERNELS, ROOT, SURFACE_KERNEL, q, type IpLink, testLimit } from './guest-fixture.js'

const BOOT_TIMEOUT = 15 * 60_000
const SCALE = 1000

// Every nlmon link deleted, with iproute2 alone (no node start-up: this runs between every example).
const CLEAN = `ip -o link show type nlmon | awk -F': ' '{print "link del " $2}' | ip -force -batch - 2>/dev/null; true`

/** One batch --json line: {line, command, exitCode, result} or {line, command, exitCode, error}. */
interface BatchLineJson {
  line: number
  command: string
  exitCode: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a line's result is whatever its command prints
  result?: any
  error?: { code: string; message: string }
}

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as BatchLineJson)

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  beforeAll(() => vm.boot(kernel), BOOT_TIMEOUT)
  afterAll(() => vm.close())
  beforeEach(async () => {
    await vm.sh(CLEAN)
    expect(await vm.json<IpLink[]>('ip -j link show type nlmon')).toEqual([])
  })
  const nlmonNames = async () =>
    (await vm.ipLinks())
      .filter((l) => l.linkinfo?.info_kind === 'nlmon')
      .map((l) => l.ifname)
      .sort()
  const batch = (input: string, ...args: string[]) =>
    vm.sh(`printf '%s' ${q(input)} | node ${ROOT}bin/run.js batch ${args.map(q).join(' ')}`)

  test('add, set and del through one batch; each step is what ip sees', async () => {
    const result = await batch(
      '# build up\nadd b0 --down\nadd b1 --alias "two words"\nset b0 --mtu 4096 --up\nadd cap%d\nlist\n',
      '--json',
    )
    expect(result.exitCode).toBe(0)
    const lines = jsonLines(result.stdout)
    expect(lines.map((l) => [l.line, l.exitCode])).toEqual([
      [2, 0],
      [3, 0],
      [4, 0],
      [5, 0],
      [6, 0],
    ])
    expect(lines[1].result).toMatchObject({ ifname: 'b1', ifalias: 'two words', flags: expect.arrayContaining(['UP']) })
    expect(lines[2].result).toMatchObject({ ifname: 'b0', mtu: 4096 })
    expect(lines[3].result.ifname).toBe('cap0')
    expect(lines[4].result.map((l: IpLink) => l.ifname).sort()).toEqual(['b0', 'b1', 'cap0'])
    expect(await nlmonNames()).toEqual(['b0', 'b1', 'cap0'])
    expect((await vm.ipLink('b0'))?.mtu).toBe(4096)

    const del = await batch('del b0\ndel b1 cap0\n')
    expect(del).toMatchObject({ exitCode: 0, stdout: '', stderr: '' })
    expect(await nlmonNames()).toEqual([])
  })

  test('stop at the first failure: later lines change nothing; --continue runs them', async () => {
    const stop = await batch('add s0\nadd s0\nadd s1\n', '--json')
    expect(stop.exitCode).toBe(4) // ALREADY_EXISTS
    expect(jsonLines(stop.stdout).map((l) => l.exitCode)).toEqual([0, 4])
    expect(await nlmonNames()).toEqual(['s0'])

    const go = await batch('add s0\nadd s1\ndel lo\nadd s2 --if-not-exists\n', '--json', '--continue')
    expect(go.exitCode).toBe(4)
    expect(jsonLines(go.stdout).map((l) => l.exitCode)).toEqual([4, 0, 5, 0])
    expect(await nlmonNames()).toEqual(['s0', 's1', 's2'])
  })

  test('a refused line anywhere means nothing runs', async () => {
    const result = await batch('add r0\nadd r1 --mtu 8\n')
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/line 2 \(add r1 --mtu 8\): invalid --mtu "8"/)
    expect(await nlmonNames()).toEqual([])
  })

  test(
    `scale: ${SCALE} adds and ${SCALE} dels in one batch; list and stats over ${SCALE} links agree with ip`,
    async () => {
      const started = Date.now()
      const add = await vm.sh(`seq 0 ${SCALE - 1} | sed 's/.*/add s& --down/' | node ${ROOT}bin/run.js batch`, 600_000)
      const addMs = Date.now() - started
      expect(add.exitCode).toBe(0)
      expect(add.stdout.split('\n').filter(Boolean)).toHaveLength(SCALE)

      const ours = await vm.json<IpLink[]>(`node ${ROOT}bin/run.js list --json`)
      const theirs = (await vm.ipLinks()).filter((l) => l.linkinfo?.info_kind === 'nlmon')
      expect(ours).toHaveLength(SCALE)
      expect(ours.map((l) => l.ifname)).toEqual(theirs.map((l) => l.ifname))
      const stats = await vm.json<IpLink[]>(`node ${ROOT}bin/run.js stats --json`)
      expect(stats).toHaveLength(SCALE)
      expect(stats.every((l) => l.stats64?.rx.packets === 0)).toBe(true) // all DOWN: nothing captured
      const table = await vm.sh(`node ${ROOT}bin/run.js list`)
      expect(table.stdout.trim().split('\n')).toHaveLength(SCALE + 1)

      const del = await vm.sh(`seq 0 ${SCALE - 1} | sed 's/.*/del s&/' | node ${ROOT}bin/run.js batch`, 600_000)
      expect(del.exitCode).toBe(0)
      expect(await nlmonNames()).toEqual([])
      process.stderr.write(`[${kernel}] ${SCALE} adds through batch: ${addMs} ms\n`)
    },
    testLimit(900_000),
  )

  // One test per command, so that a command whose examples fail is named; on one kernel (they check the help).
  if (kernel !== SURFACE_KERNEL) return
  const manifest = JSON.parse(readFileSync(`${ROOT}oclif.manifest.json`, 'utf8')) as {
    commands: Record<string, { examples?: Array<string | { command: string }> }>
  }
  test.each(Object.keys(manifest.commands).sort())(
    'every example of `%s --help` runs and exits 0',
    async (id) => {
      const examples = (manifest.commands[id].examples ?? []).map((e) =>
        (typeof e === 'string' ? e : e.command).replace(/<%= config\.bin %>/g, 'nlmonctl'),
      )
      expect(examples.length).toBeGreaterThanOrEqual(1)
      for (const line of examples) {
        // What the examples assume exists: a namespace "blue" (with a link in it), the links they name.
        const setup = ['ip netns add blue', 'ip -n blue link add nlmon0 type nlmon', 'ip link add nlmon0 type nlmon']
        if (/^nlmonctl set mon-ci/.test(line)) setup.push('ip link add mon-ci type nlmon')
        if (/^nlmonctl add\b/.test(line)) setup.pop() // add makes its own
        const run = await vm.asUser(line, setup)
        await vm.sh(`${CLEAN}; ip netns del blue 2>/dev/null; true`)
        expect({ line, exitCode: run.exitCode, stderr: run.stderr }).toEqual({
          line,
          exitCode: 0,
          stderr: expect.any(String),
        })
      }
    },
    testLimit(900_000),
  )
})
