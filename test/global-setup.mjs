// @ts-check
// Before any test file: the tools nobody here wrote that the tests cross-check against, installed from Debian's
// packages when this machine lacks them (the guests run this machine's root, so they get them too). One list,
// here; a test never skips for a missing tool, and a tool that cannot be installed fails the run with apt's words.
import { ensurePrograms } from '../vm/apt.js'

/** Each program the tests run that a fresh machine may lack, and the Debian package that ships it. */
export const TEST_PROGRAMS = Object.freeze([
  { program: 'tshark', pkg: 'tshark' },
  { program: 'tcpdump', pkg: 'tcpdump' },
  // Wireshark's file tools (tshark depends on their package)
  { program: 'capinfos', pkg: 'wireshark-common' },
  { program: 'editcap', pkg: 'wireshark-common' },
  { program: 'mergecap', pkg: 'wireshark-common' },
  { program: 'text2pcap', pkg: 'wireshark-common' },
])

export default async function globalSetup() {
  await ensurePrograms([...TEST_PROGRAMS], { log: (line) => process.stderr.write(`test setup: ${line}\n`) })
}
