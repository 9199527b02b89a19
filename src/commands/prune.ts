import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { preparePrune } from '../core/operations.js'

export default class Prune extends BaseCommand {
  static summary = 'Remove ephemeral capture links whose nlmonctl process is gone.'

  static description = `capture and trace remove the nlmon links they create on every way out they can see; a SIGKILL (or a power cut) leaves one behind. Such links carry the alias "nlmonctl-ephemeral pid=PID start=TICKS": prune removes those whose process no longer runs (same pid and start time), in this namespace or the one --netns names, and leaves every other link alone. Prints the removed links' names (the links with --json).`

  static examples = [
    '<%= config.bin %> prune',
    { description: 'In a namespace', command: '<%= config.bin %> prune --netns blue' },
  ]

  async run(): Promise<void> {
    const { flags } = await this.parse(Prune)
    this.emitOutcome(await preparePrune().run(oneShotApi(flags.netns)))
  }
}
