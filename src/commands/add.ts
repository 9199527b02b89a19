import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { VERBS } from '../core/verbs.js'
import { addSpec } from '../specs/add.js'

export default class Add extends BaseCommand {
  static summary = addSpec.summary
  static description = addSpec.description
  static examples = addSpec.examples
  static args = addSpec.args
  static flags = addSpec.flags
  static strict = addSpec.strict

  async run(): Promise<void> {
    const parsed = await this.parse(Add)
    this.emitOutcome(await VERBS.add.prepare(parsed).run(oneShotApi(parsed.flags.netns)))
  }
}
