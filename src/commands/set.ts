import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareSet } from '../core/operations.js'
import { setSpec } from '../specs/set.js'

export default class SetCommand extends BaseCommand {
  static summary = setSpec.summary
  static description = setSpec.description
  static examples = setSpec.examples
  static args = setSpec.args
  static flags = setSpec.flags
  static strict = setSpec.strict

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SetCommand)
    const operation = prepareSet(args.link, flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
