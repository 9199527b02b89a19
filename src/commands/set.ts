import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { VERBS } from '../core/verbs.js'
import { setSpec } from '../specs/set.js'

export default class SetCommand extends BaseCommand {
  static summary = setSpec.summary
  static description = setSpec.description
  static examples = setSpec.examples
  static args = setSpec.args
  static flags = setSpec.flags
  static strict = setSpec.strict

  async run(): Promise<void> {
    const parsed = await this.parse(SetCommand)
    this.emitOutcome(await VERBS.set.prepare(parsed).run(oneShotApi(parsed.flags.netns)))
  }
}
