// Run in the guest by parity.test.ts: sends each row's attributes through the native layer WITHOUT the
// CLI's validation, so the kernel alone judges them. Prints one JSON verdict per row; removes what it made.
//   node native-verdicts.mjs add '[{…request}, …]'   createLink per row
//   node native-verdicts.mjs set '[{…change}, …]'    setLink per row, on a fresh DOWN nlmon link each time
import { createLink, deleteLink, setLink } from '../../native/index.js'

// The native calls resolve to the link as JSON bytes (ip -j's shape): ifindex is all we need.
const made = async (/** @type {Promise<Buffer>} */ bytes) => JSON.parse((await bytes).toString('utf8'))

const [mode, json] = process.argv.slice(2)
const rows = JSON.parse(json)

/** @param {{ address?: string, broadcast?: string, [key: string]: unknown }} row */
function raw({ address, broadcast, ...rest }) {
  return {
    ...rest,
    ...(address ? { address: Buffer.from(address, 'hex') } : {}),
    ...(broadcast ? { broadcast: Buffer.from(broadcast, 'hex') } : {}),
  }
}

const verdicts = []
for (const row of rows) {
  let target
  try {
    if (mode === 'add') {
      target = await made(createLink({ kind: 'nlmon', up: true, ...raw(row) }))
    } else {
      target = await made(createLink({ kind: 'nlmon', name: 'parity0', up: false }))
      await setLink({ index: target.ifindex }, raw(row), 'nlmon')
    }
    verdicts.push({ accepted: true })
  } catch (error) {
    const info = JSON.parse(/** @type {Error} */ (error).message)
    verdicts.push({ accepted: false, code: info.code, extack: info.extack })
  } finally {
    if (target) await deleteLink({ index: target.ifindex }, 'nlmon')
  }
}
console.log(JSON.stringify(verdicts))
