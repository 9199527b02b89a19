// Throwaway network namespaces for host tests: random names, always removed.
import { randomBytes } from 'node:crypto'
import { execa } from 'execa'

export interface Netns {
  name: string
  /** Run a command inside the namespace (ip netns exec). */
  exec(file: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>
  /**
   * A process that lives in the namespace until stop(): its /proc/PID/ns/net names the namespace by
   * path. Resolves once the process says it is inside (a readiness line, not a delay).
   */
  holder(): Promise<{ nsPath: string; stop(): Promise<void> }>
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
    async holder() {
      const child = execa('ip', ['netns', 'exec', name, 'sh', '-c', 'echo inside; exec sleep 600'], { reject: false })
      const stop = async () => {
        child.kill()
        await child
      }
      const ready = await new Promise<boolean>((resolve) => {
        child.stdout?.once('data', () => resolve(true))
        void child.then(() => resolve(false))
      })
      if (!ready) {
        const r = await child
        throw new Error(`ip netns exec ${name} did not start: ${String(r.stderr)}`)
      }
      return { nsPath: `/proc/${child.pid}/ns/net`, stop }
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
