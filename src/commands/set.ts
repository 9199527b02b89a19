import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { attributeFlags, attributeValues } from '../core/attribute-flags.js'
import { validateAttributes } from '../core/attributes.js'
import { usageError } from '../core/errors.js'
import { checkLinkArg } from '../core/link-args.js'
import { linkJson } from '../core/link-json.js'
import { call, linkRef, target } from '../core/native.js'

export default class SetCommand extends BaseCommand {
  static summary = 'Change an nlmon link: up/down, MTU, name, alias, txqueuelen, group.'

  static description = `Refuses links whose kind is not nlmon. Renaming needs the link DOWN on most kernels (EBUSY otherwise); --down --name does both in the right order. Prints the link's name, or the changed link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`

  static examples = [
    { description: 'Stop capturing without deleting the link', command: '<%= config.bin %> set nlmon0 --down' },
    { description: 'Rename (the link must be DOWN) and bring it back up', command: '<%= config.bin %> set nlmon0 --down --name mon-ci && <%= config.bin %> set mon-ci --up' },
    '<%= config.bin %> set mon-ci --mtu 65536 --alias "big dumps"',
  ]

  static args = {
    link: Args.string({ description: 'Link name or ifindex.', required: true }),
  }

  static flags = {
    ...attributeFlags('set'),
    up: Flags.boolean({ summary: 'Bring the link UP (start capturing).', exclusive: ['down'] }),
    down: Flags.boolean({ summary: 'Take the link DOWN (stop capturing).', exclusive: ['up'] }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SetCommand)
    checkLinkArg(args.link)
    const settings = validateAttributes('set', attributeValues('set', flags))
    const up = flags.up ? true : flags.down ? false : undefined
    if (up === undefined && Object.keys(settings).length === 0) {
      throw usageError('nothing to change: give --up, --down or an attribute (see --help)')
    }
    const ctx = { action: 'change' as const, link: args.link, netns: flags.netns }
    const link = await call(ctx, (native) =>
      native.setLink(linkRef(args.link), { ...settings, up }, 'nlmon', target(flags.netns)),
    )
    this.emit(linkJson(link), () => link.ifname)
  }
}
