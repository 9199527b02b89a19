import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { attributeFlags } from '../core/attribute-flags.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareSet } from '../core/operations.js'

export default class SetCommand extends BaseCommand {
  static summary = 'Change an nlmon link: up/down, MTU, name, alias, txqueuelen, group.'

  static description = `Refuses links whose kind is not nlmon. Renaming needs the link DOWN on most kernels (EBUSY otherwise); --down --name does both in the right order. Prints the link's name, or the changed link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`

  static examples = [
    { description: 'Stop capturing without deleting the link', command: '<%= config.bin %> set nlmon0 --down' },
    { description: 'Rename (the link must be DOWN) and bring it back up', command: '<%= config.bin %> set nlmon0 --down --name mon-ci && <%= config.bin %> set mon-ci --up' },
    '<%= config.bin %> set mon-ci --mtu 65536 --alias "big dumps"',
  ]

  static args = {
    link: Args.string({ description: 'Link name or ifindex.', required: true, ignoreStdin: true }),
  }

  static flags = {
    ...attributeFlags('set'),
    up: Flags.boolean({ summary: 'Bring the link UP (start capturing).', exclusive: ['down'] }),
    down: Flags.boolean({ summary: 'Take the link DOWN (stop capturing).', exclusive: ['up'] }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SetCommand)
    const operation = prepareSet(args.link, flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
