#!/usr/bin/env node
// `npm start`: the add → traffic → stats → del demonstration. On a kernel with nlmon it runs here, in a
// throwaway network namespace; on one without (this machine, CI) it says so and runs the same script in a
// QEMU guest with a Debian kernel that has nlmon (vm/, fetched and cached on first use).
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'

const root = fileURLToPath(new URL('..', import.meta.url))
const script = `${root}scripts/demo.sh`

/** @param {string} netns */
async function hostHasNlmon(netns) {
  const probe = await execa(process.execPath, [`${root}bin/run.js`, 'add', 'nlmon-probe', '--netns', netns], {
    reject: false,
  })
  return probe.exitCode === 0
}

async function onHost() {
  const netns = `nlmonctl-demo-${randomBytes(3).toString('hex')}`
  await execa('ip', ['netns', 'add', netns])
  try {
    if (!(await hostHasNlmon(netns))) return false
    await execa('ip', ['-n', netns, 'link', 'del', 'nlmon-probe'])
    console.log(`# this kernel has nlmon: running in the throwaway network namespace ${netns}`)
    const run = await execa('ip', ['netns', 'exec', netns, 'sh', script], { stdio: 'inherit', reject: false })
    process.exitCode = run.exitCode ?? 1
    return true
  } finally {
    await execa('ip', ['netns', 'del', netns], { reject: false })
  }
}

async function inGuest() {
  const { bootGuest, kernelsFromEnv, newestKernel } = await import('../vm/index.js')
  const kernel = process.env.NLMONCTL_KERNEL || newestKernel(kernelsFromEnv())
  const release = (await execa('uname', ['-r'])).stdout
  console.log(`# this kernel (${release}) has no nlmon driver (CONFIG_NLMON is not set);`)
  console.log(
    `# running the demonstration in a QEMU guest with Debian's "${kernel}" kernel instead (first run fetches it)`,
  )
  const guest = await bootGuest({ kernel })
  try {
    console.log(`# guest kernel ${guest.release}`)
    const run = await guest.run(`ip netns add demo && ip netns exec demo sh ${script}`, { timeoutMs: 240_000 })
    process.stdout.write(run.stdout)
    process.stderr.write(run.stderr)
    process.exitCode = run.exitCode
  } finally {
    await guest.close()
  }
}

if (!(await onHost())) await inGuest()
