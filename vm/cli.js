#!/usr/bin/env node
// @ts-check
// npm run vm -- [--kernel NAME] [--timeout SECONDS] [--verbose] COMMAND…
//   boots a fresh guest, runs the command line in it (sh -c, as root, cwd = the checkout), prints its output
//   and exits with its status (124 when it timed out, 125 when the guest could not be had).
// npm run vm:fetch   (node vm/cli.js --fetch)
//   fetches and builds QEMU, the kernels of NLMONCTL_KERNELS (default bookworm,trixie,sid) and their initramfs.
import { bootGuest, GuestCommandError, kernelsFromEnv, newestKernel, prepare, KERNELS } from './index.js'

const USAGE = `usage: npm run vm -- [--kernel NAME] [--timeout SECONDS] [--verbose] COMMAND...
       npm run vm:fetch
kernels: ${Object.keys(KERNELS).join(', ')} (default: NLMONCTL_KERNEL, else the newest of NLMONCTL_KERNELS)`

/** @param {string} line */
const progress = (line) => process.stderr.write(`[vm] ${line}\n`)

async function main() {
  const args = process.argv.slice(2)
  /** @type {string | undefined} */
  let kernel = process.env.NLMONCTL_KERNEL || undefined
  let timeoutSec = 600
  let verbose = false
  let fetch = false
  while (args.length > 0 && args[0].startsWith('-')) {
    const arg = /** @type {string} */ (args.shift())
    if (arg === '--') break
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined]
    const value = () => {
      const v = inline ?? args.shift()
      if (v === undefined) throw new UsageError(`${flag} needs a value`)
      return v
    }
    if (flag === '--kernel' || flag === '-k') kernel = value()
    else if (flag === '--timeout' || flag === '-t') {
      timeoutSec = Number(value())
      if (!(timeoutSec > 0)) throw new UsageError('--timeout needs a positive number of seconds')
    } else if (flag === '--verbose' || flag === '-v') verbose = true
    else if (flag === '--fetch') fetch = true
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`)
      return 0
    } else throw new UsageError(`unknown option ${arg}`)
  }

  if (fetch) {
    const kernels = kernel ? [kernel] : kernelsFromEnv()
    const started = Date.now()
    for (const k of await prepare(kernels, { log: progress })) {
      process.stdout.write(`${k.name}\t${k.release}\t${k.packageVersion}\t${k.vmlinuz}\n`)
    }
    progress(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return 0
  }

  if (args.length === 0) throw new UsageError('no command given')
  const command = args.join(' ')
  const name = kernel ?? newestKernel(kernelsFromEnv())
  const log = verbose
    ? progress
    : (/** @type {string} */ line) => /^(downloading|installed|.*not found)/.test(line) && progress(line)
  const guest = await bootGuest({ kernel: name, log })
  try {
    const result = await guest.run(command, {
      timeoutMs: timeoutSec * 1000,
      onStdout: (chunk) => process.stdout.write(chunk),
      onStderr: (chunk) => process.stderr.write(chunk),
    })
    if (verbose) progress(`exit ${result.exitCode} after ${result.durationMs} ms in the guest`)
    return result.exitCode
  } catch (error) {
    if (error instanceof GuestCommandError && error.timedOut) {
      progress(error.message)
      return 124
    }
    throw error
  } finally {
    await guest.close()
  }
}

class UsageError extends Error {}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${USAGE}\n`)
      process.exitCode = 2
    } else {
      process.stderr.write(`[vm] ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 125
    }
  },
)
