import { join } from 'node:path'
import { BaseCommand } from '../../base-command.js'
import { installLauncher, scopeOf } from '../../core/extcap.js'
import { extcapInstallSpec } from '../../specs/extcap.js'

export default class ExtcapInstall extends BaseCommand {
  static summary = extcapInstallSpec.summary
  static description = extcapInstallSpec.description
  static examples = extcapInstallSpec.examples
  static args = extcapInstallSpec.args
  static flags = extcapInstallSpec.flags
  static strict = extcapInstallSpec.strict

  async run(): Promise<void> {
    const { flags } = await this.parse(ExtcapInstall)
    const result = installLauncher(scopeOf(flags), process.execPath, join(this.config.root, 'bin', 'run.js'))
    this.emit({ installed: result }, () => `${result.changed ? 'installed' : 'already installed:'} ${result.path}`)
  }
}
