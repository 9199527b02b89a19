// Throwaway network namespaces for host tests: random names, always removed.
import { randomBytes } from 'node:crypto'
import { execa } from 'execa'

export interface Netns {
  name: string
  /** Run a command inside the namespace (ip netns exec). */
  exec(file: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>
  /** `ip -j -d -s link show` inside the namespace, parsed. */
  links(): Promise<Array<Record<string, unknown>>>
  remove(): Promise<void>
}

export async function createNetns(): Promise<Netns> {
  const name = `nlmonctl-test-${randomBytes(4).toString('hex')}`
  await execa('ip', ['netns', 'add', name])
  return {
    name,
    async exec(file, args) {
      const r = await execa('ip', ['netns', 'exec', name, file, ...args], { reject: false })
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 }
    },
    async links() {
      const r = await execa('ip', ['-n', name, '-j', '-d', '-s', 'link', 'show'])
      return JSON.parse(String(r.stdout)) as Array<Record<string, unknown>>
    },
    async remove() {
      await execa('ip', ['netns', 'del', name], { reject: false })
    },
  }
}
