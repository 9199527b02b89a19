import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareDel } from '../core/operations.js'

export default class Del extends BaseCommand {
  static summary = 'Delete nlmon links, and only nlmon links.'

  static description = `The kernel deletes any link it is asked to (RTM_DELLINK ignores the kind), so del looks each link up, checks that its kind is nlmon, and deletes it by ifindex. Links of any other kind (lo, veth, bridge, …) are refused and left untouched. All arguments are checked before anything is deleted: one refused or missing link means none is deleted. An argument made only of digits is an ifindex. Prints nothing on success (the deleted links with --json).`

  static examples = [
    '<%= config.bin %> del nlmon0',
    { description: 'No error when it is already gone', command: '<%= config.bin %> del nlmon0 --if-exists' },
    { description: 'Remove every nlmon link in a namespace', command: '<%= config.bin %> del --all --netns blue' },
  ]

  static strict = false

  static flags = {
    'if-exists': Flags.boolean({ summary: 'Succeed when a named link does not exist.' }),
    all: Flags.boolean({ summary: 'Delete every nlmon link in the namespace.' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Del)
    const operation = prepareDel(argv as string[], flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
