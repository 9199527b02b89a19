import { BaseCommand } from '../../base-command.js'
import { normalizeExtcapArgv, runExtcap } from '../../core/extcap.js'
import { extcapRunSpec } from '../../specs/extcap.js'

export default class ExtcapRun extends BaseCommand {
  static hidden = true
  static summary = extcapRunSpec.summary
  static description = extcapRunSpec.description
  static examples = extcapRunSpec.examples
  static args = extcapRunSpec.args
  static flags = extcapRunSpec.flags
  static strict = extcapRunSpec.strict

  async run(): Promise<void> {
    const { flags } = await this.parse(ExtcapRun, normalizeExtcapArgv(this.argv))
    const lines = await runExtcap(flags, this.config.version, flags.netns)
    if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n')
  }
}
