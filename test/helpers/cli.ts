// Runs nlmonctl as a script would: a separate process, no TTY, exit code and both streams captured.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = `${ROOT}bin/run.js`

export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface CliOptions {
  /** Run inside this network namespace (ip netns exec), as a script in that namespace would. */
  netns?: string
  /** Prefix command (e.g. setpriv to drop capabilities), run inside the namespace. */
  wrap?: string[]
  env?: Record<string, string>
  /** Text on standard input (default: none). */
  input?: string
}

export async function nlmonctl(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = [...(options.wrap ?? []), process.execPath, BIN, ...args]
  const [file, ...rest] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command
  const result = await execa(file, rest, {
    reject: false,
    env: { NO_COLOR: '1', ...options.env },
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  })
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 }
}

/** stderr of a failed run must be exactly one line naming the command. */
export function expectOneLineError(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter((line) => line !== '')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^nlmonctl( \w+)?: /)
  expect(lines[0]).toMatch(pattern)
}

/** A tool nobody here wrote (tshark, capinfos…), run to its end: its stdout, or an error naming it. */
export function tool(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    throw new Error(
      `${file} ${args.join(' ')} failed (test/global-setup.mjs installs Wireshark's CLI when missing): ${String(error)}`,
    )
  }
}
