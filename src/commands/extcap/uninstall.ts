import { BaseCommand } from '../../base-command.js'
import { scopeOf, uninstallLauncher } from '../../core/extcap.js'
import { extcapUninstallSpec } from '../../specs/extcap.js'

export default class ExtcapUninstall extends BaseCommand {
  static summary = extcapUninstallSpec.summary
  static description = extcapUninstallSpec.description
  static examples = extcapUninstallSpec.examples
  static args = extcapUninstallSpec.args
  static flags = extcapUninstallSpec.flags
  static strict = extcapUninstallSpec.strict

  async run(): Promise<void> {
    const { flags } = await this.parse(ExtcapUninstall)
    const result = uninstallLauncher(scopeOf(flags))
    this.emit({ uninstalled: result }, () =>
      result.removed ? `removed ${result.path}` : `nothing to remove at ${result.path}`,
    )
  }
}
