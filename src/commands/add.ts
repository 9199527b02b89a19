import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { attributeFlags } from '../core/attribute-flags.js'
import { ruleForFlag } from '../core/attributes.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareAdd } from '../core/operations.js'

export default class Add extends BaseCommand {
  static summary = 'Create an nlmon link; it is UP (capturing) unless --down.'

  static description = `An nlmon link mirrors the netlink traffic of its network namespace, but only while it is UP, so add brings it up by default. Without NAME the kernel's naming applies (nlmon0, nlmon1, …); a NAME with "%d" gets the lowest free number. Prints the link's name (so l=$(nlmonctl add) works), or the link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`

  static examples = [
    { description: 'Create a capturing link and keep its name', command: 'l=$(<%= config.bin %> add)' },
    { description: 'A named link with an alias, left DOWN', command: '<%= config.bin %> add mon0 --alias "ci capture" --down' },
    { description: 'Idempotent setup in a script', command: '<%= config.bin %> add mon0 --if-not-exists' },
    { description: 'In another network namespace, as JSON', command: '<%= config.bin %> add --netns blue --json' },
  ]

  static args = {
    name: Args.string({
      description: `Link name; default: the kernel picks nlmon0, nlmon1, … (IFLA_IFNAME: ${ruleForFlag('name')?.rule})`,
      required: false,
      ignoreStdin: true, // src/core/argv.ts never reads a missing argument from stdin
    }),
  }

  static flags = {
    ...attributeFlags('add'),
    down: Flags.boolean({ summary: 'Leave the link DOWN (it captures nothing until set --up).' }),
    'if-not-exists': Flags.boolean({
      summary: 'Succeed if an nlmon link of that name already exists (another kind holding the name is still an error).',
    }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Add)
    const operation = prepareAdd(args.name, flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
