import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { VERBS } from '../core/verbs.js'
import { delSpec } from '../specs/del.js'

export default class Del extends BaseCommand {
  static summary = delSpec.summary
  static description = delSpec.description
  static examples = delSpec.examples
  static args = delSpec.args
  static flags = delSpec.flags
  static strict = delSpec.strict

  async run(): Promise<void> {
    const parsed = await this.parse(Del)
    this.emitOutcome(await VERBS.del.prepare(parsed).run(oneShotApi(parsed.flags.netns)))
  }
}
