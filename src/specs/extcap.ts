// `nlmonctl extcap install|uninstall|run`: their help and flag definitions (oclif's shape, no oclif).
// run is what Wireshark calls through the launcher: its flags are the extcap contract's words.

import { defineSpec, flag } from './define.js'

const scopeFlags = {
  user: flag.boolean({ summary: 'Your personal extcap folder (the default).', exclusive: ['system'] }),
  system: flag.boolean({ summary: "Wireshark's global extcap folder (needs root).", exclusive: ['user'] }),
}

export const extcapInstallSpec = defineSpec({
  summary: "Make nlmonctl a Wireshark capture source (an extcap launcher in Wireshark's extcap folder).",

  description: `Writes a small launcher, mode 0755, named nlmonctl, into the extcap folder that \`tshark -G folders\` (or \`wireshark -G folders\`) reports: "Personal Extcap path" with --user (Wireshark ≥ 4.1; on 4.0 the personal configuration folder's extcap/, ~/.config/wireshark/extcap), "Global Extcap path" with --system. The launcher runs this nlmonctl (this node, this bin/run.js) as \`nlmonctl extcap run\` with Wireshark's arguments. Wireshark then lists one interface per network namespace: nlmonctl (its own) and nlmonctl@NAME for each name under /run/netns. Installing again rewrites the launcher (new paths) and changes nothing when it is the same; a file of that name that nlmonctl did not write is never replaced. Capturing needs CAP_NET_ADMIN and CAP_NET_RAW (see the README's Wireshark section).`,

  examples: [
    '<%= config.bin %> extcap install',
    { description: 'Where it went, for a script', command: '<%= config.bin %> extcap install --json' },
  ],

  args: {},
  flags: scopeFlags,
  strict: true,
})

export const extcapUninstallSpec = defineSpec({
  summary: 'Remove the Wireshark extcap launcher that extcap install wrote.',

  description: `Removes the nlmonctl launcher from the same folder extcap install uses, only if nlmonctl wrote it (a file of that name that it did not write is left alone, exit 3). Nothing to remove is not an error.`,

  examples: ['<%= config.bin %> extcap uninstall'],

  args: {},
  flags: scopeFlags,
  strict: true,
})

export const extcapRunSpec = defineSpec({
  summary: 'The extcap contract, as Wireshark calls it through the launcher (not for people).',

  description: `--extcap-interfaces lists the interfaces (one per network namespace); --extcap-interface IF with --extcap-dlts names DLT 253 (NETLINK), with --extcap-config lists the options (--family, --link), with --capture --fifo PATH captures into Wireshark's FIFO until Wireshark stops it (SIGTERM) or stops reading; an ephemeral nlmon link is created and always removed.`,

  examples: ['<%= config.bin %> extcap run --extcap-interfaces'],

  args: {},
  flags: {
    'extcap-interfaces': flag.boolean({ summary: 'List the interfaces.' }),
    'extcap-version': flag.string({ summary: "Wireshark's version (or, alone, print ours).", helpValue: 'VERSION' }),
    'extcap-interface': flag.string({ summary: 'The interface asked about.', helpValue: 'IF' }),
    'extcap-dlts': flag.boolean({ summary: "The interface's link types." }),
    'extcap-config': flag.boolean({ summary: "The interface's options." }),
    'extcap-reload-option': flag.string({ summary: 'Values of a reloadable option (none here).', helpValue: 'OPT' }),
    'extcap-capture-filter': flag.string({ summary: 'A capture filter (refused unless empty).', helpValue: 'FILTER' }),
    capture: flag.boolean({ summary: 'Capture into --fifo.' }),
    fifo: flag.string({ summary: "Wireshark's FIFO.", helpValue: 'PATH' }),
    family: flag.string({ summary: 'Only these netlink families, comma-separated.', helpValue: 'LIST' }),
    link: flag.string({ summary: 'Capture on this existing nlmon link.', helpValue: 'NAME' }),
  },
  strict: true,
})
