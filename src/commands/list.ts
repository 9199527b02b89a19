import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { VERBS } from '../core/verbs.js'
import { listSpec } from '../specs/list.js'

export default class List extends BaseCommand {
  static summary = listSpec.summary
  static description = listSpec.description
  static examples = listSpec.examples
  static args = listSpec.args
  static flags = listSpec.flags
  static strict = listSpec.strict

  async run(): Promise<void> {
    const parsed = await this.parse(List)
    this.emitOutcome(await VERBS.list.prepare(parsed).run(oneShotApi(parsed.flags.netns)))
  }
}
