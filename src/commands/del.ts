import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareDel } from '../core/operations.js'
import { delSpec } from '../specs/del.js'

export default class Del extends BaseCommand {
  static summary = delSpec.summary
  static description = delSpec.description
  static examples = delSpec.examples
  static args = delSpec.args
  static flags = delSpec.flags
  static strict = delSpec.strict

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Del)
    const operation = prepareDel(argv as string[], flags)
    this.emitOutcome(await operation.run(oneShotApi(flags.netns)))
  }
}
