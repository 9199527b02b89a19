// Link arguments as users type them (NAME or IFINDEX), checked before anything reaches the kernel.

import { checkIfname } from './attributes.js'
import { usageError } from './errors.js'

/** Throws INVALID_INPUT for an argument that can be neither an ifindex nor a valid name. */
export function checkLinkArg(arg: string): void {
  if (/^[0-9]+$/.test(arg)) {
    const index = Number(arg)
    if (index < 1 || index > 2 ** 31 - 1) throw usageError(`invalid link "${arg}": an ifindex is 1 to ${2 ** 31 - 1}`)
    return
  }
  const reason = checkIfname(arg)
  if (reason || arg.includes('%')) {
    throw usageError(`invalid link "${arg}": not a link name (${reason ?? "'%' patterns only name new links"})`)
  }
}
