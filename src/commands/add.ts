import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareAdd } from '../core/operations.js'
import { addSpec } from '../specs/add.js'

export default class Add extends BaseCommand {
  static summary = addSpec.summary
  static description = addSpec.description
  static examples = addSpec.examples
  static args = addSpec.args
  static flags = addSpec.flags
  static strict = addSpec.strict

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Add)
    const operation = prepareAdd(args.name, flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
