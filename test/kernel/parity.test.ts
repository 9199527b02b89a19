// Validation parity: for each attribute set, nlmonctl's verdict (refused before any netlink request, exit 2,
// or created, exit 0) must equal the kernel's own verdict for the same attributes sent through the native
// layer without the CLI's validation. No more, no less, row by row; and a refusal changes nothing.
import { GuestFixture, KERNELS, ROOT, q, shape, testLimit } from './guest-fixture.js'

interface Row {
  label: string
  args: string[] // nlmonctl add … / nlmonctl set parity0 …
  request: {
    name?: string
    mtu?: number
    txqlen?: number
    group?: number
    alias?: string
    address?: string
    broadcast?: string
  }
}

const row = (label: string, args: string[], request: Row['request']): Row => ({ label, args, request })
const named = (name: string) => row(`name ${JSON.stringify(name)}`, [name], { name })
const renamed = (name: string) => row(`--name ${JSON.stringify(name)}`, ['--name', name], { name })
const bytes = (n: number) => Array(n).fill('ab').join(':')

const ADD_ROWS: Row[] = [
  row('no attributes', [], {}),
  row('empty name (kernel picks)', [''], { name: '' }),
  named('exactly15bytes_'),
  named('sixteen_bytes_xx'),
  named('a/b'),
  named('a b'),
  named('a\tb'),
  named('a:b'),
  named('.'),
  named('..'),
  named('pat%d'),
  named('pat%s'),
  named('pat%d%d'),
  named('é0'),
  named('à0'), // UTF-8 C3 A0: 0xA0 is whitespace to the kernel's isspace()
  row('address', ['--address', '02:00:00:00:00:01'], { address: '020000000001' }),
  row('address spelled --mac', ['--mac', '02:00:00:00:00:01'], { address: '020000000001' }),
  row('address with a valid MTU', ['--address', '02:00:00:00:00:01', '--mtu', '1500'], {
    address: '020000000001',
    mtu: 1500,
  }),
  row('broadcast 6 bytes', ['--broadcast', 'ff:ff:ff:ff:ff:ff'], { broadcast: 'ffffffffffff' }),
  row('broadcast 32 bytes', ['--broadcast', bytes(32)], { broadcast: 'ab'.repeat(32) }),
  row('broadcast 33 bytes', ['--broadcast', bytes(33)], { broadcast: 'ab'.repeat(33) }),
  row('mtu 15', ['--mtu', '15'], { mtu: 15 }),
  row('mtu 16', ['--mtu', '16'], { mtu: 16 }),
  row('mtu 3776', ['--mtu', '3776'], { mtu: 3776 }),
  row('mtu 2^31-1', ['--mtu', '2147483647'], { mtu: 2147483647 }),
  row('mtu 2^31', ['--mtu', '2147483648'], { mtu: 2147483648 }),
  row('mtu 2^32-1', ['--mtu', '4294967295'], { mtu: 4294967295 }),
  row('alias 255 bytes', ['--alias', 'a'.repeat(255)], { alias: 'a'.repeat(255) }),
  row('alias 256 bytes', ['--alias', 'a'.repeat(256)], { alias: 'a'.repeat(256) }),
  row('txqueuelen 0', ['--txqueuelen', '0'], { txqlen: 0 }),
  row('txqueuelen 32767', ['--txqueuelen', '32767'], { txqlen: 32767 }),
  row('txqueuelen 32768', ['--txqueuelen', '32768'], { txqlen: 32768 }),
  row('txqueuelen 2^32-1', ['--txqueuelen', '4294967295'], { txqlen: 4294967295 }),
  row('group 2^32-1', ['--group', '4294967295'], { group: 4294967295 }),
]

const SET_ROWS: Row[] = [
  renamed(''),
  renamed('renamed0'),
  renamed('sixteen_bytes_xx'),
  renamed('a/b'),
  renamed('ren%d'),
  row('address', ['--address', '02:00:00:00:00:01'], { address: '020000000001' }),
  row('broadcast', ['--broadcast', 'ff:ff:ff:ff:ff:ff'], { broadcast: 'ffffffffffff' }),
  row('mtu 15', ['--mtu', '15'], { mtu: 15 }),
  row('mtu 16', ['--mtu', '16'], { mtu: 16 }),
  row('mtu 2^31', ['--mtu', '2147483648'], { mtu: 2147483648 }),
  row('txqueuelen 32767', ['--txqueuelen', '32767'], { txqlen: 32767 }),
  row('txqueuelen 32768', ['--txqueuelen', '32768'], { txqlen: 32768 }),
  row('alias 255 bytes', ['--alias', 'b'.repeat(255)], { alias: 'b'.repeat(255) }),
  row('alias 256 bytes', ['--alias', 'b'.repeat(256)], { alias: 'b'.repeat(256) }),
  row('group 2^32-1', ['--group', '4294967295'], { group: 4294967295 }),
]

describe.each(KERNELS)('kernel %s', (kernel) => {
  const vm = new GuestFixture()
  beforeAll(() => vm.boot(kernel), 15 * 60_000)
  afterAll(() => vm.close())

  test.each([
    ['add', ADD_ROWS],
    ['set', SET_ROWS],
  ] as const)(
    '%s: the CLI refuses exactly what the kernel refuses, and a refusal changes nothing',
    async (mode, rows) => {
      const kernelRun = await vm.sh(
        `node ${ROOT}test/kernel/native-verdicts.mjs ${mode} ${q(JSON.stringify(rows.map((r) => r.request)))}`,
      )
      expect(kernelRun.stderr).toBe('')
      const kernelVerdicts: Array<{ accepted: boolean; code?: string }> = JSON.parse(kernelRun.stdout)
      expect(kernelVerdicts).toHaveLength(rows.length)

      const table: string[] = []
      const mismatches: string[] = []
      for (const [i, { label, args }] of rows.entries()) {
        let subject: string | undefined
        if (mode === 'set') {
          subject = JSON.parse((await vm.cli('add', 'parity0', '--down', '--json')).stdout).ifname
        }
        const before = shape(await vm.ipLinks())
        const run =
          mode === 'add' ? await vm.cli('add', ...args, '--json') : await vm.cli('set', 'parity0', ...args, '--json')
        // 0: done; 2: refused by nlmonctl before the kernel saw it. Anything else means the CLI let an
        // invalid request reach the kernel (or failed for another reason): a parity failure either way.
        const cli =
          run.exitCode === 0
            ? 'accepted'
            : run.exitCode === 2
              ? 'refused'
              : `exit ${run.exitCode}: ${run.stderr.trim()}`
        const kernelSays = kernelVerdicts[i].accepted ? 'accepted' : 'refused'
        table.push(
          `${label.padEnd(34)} kernel ${kernelSays.padEnd(8)} (${kernelVerdicts[i].code ?? 'ok'})  nlmonctl ${cli}`,
        )
        if (cli !== kernelSays) mismatches.push(`${label}: kernel ${kernelSays}, nlmonctl ${cli}`)
        if (run.exitCode !== 0 && JSON.stringify(shape(await vm.ipLinks())) !== JSON.stringify(before)) {
          mismatches.push(`${label}: the refused command changed the link table`)
        }
        const made = run.exitCode === 0 ? JSON.parse(run.stdout).ifname : subject
        if (made) await vm.sh(`ip link del ${q(made)}`)
      }
      console.log(`${mode} validation parity on ${kernel}:\n${table.join('\n')}`)
      expect(mismatches).toEqual([])
    },
    testLimit(20 * 60_000),
  )
})
