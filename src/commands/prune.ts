import { BaseCommand } from '../base-command.js'
import { orphans, parseEphemeralAlias, removeEphemeral } from '../core/ephemeral.js'
import { linkJson } from '../core/link-json.js'
import { call, parseLinks, target, type LinkInfo } from '../core/native.js'

export default class Prune extends BaseCommand {
  static summary = 'Remove ephemeral capture links whose nlmonctl process is gone.'

  static description = `capture and trace remove the nlmon links they create on every way out they can see; a SIGKILL (or a power cut) leaves one behind. Such links carry the alias "nlmonctl-ephemeral pid=PID start=TICKS": prune removes those whose process no longer runs (same pid and start time), in this namespace or the one --netns names, and leaves every other link alone. Prints the removed links' names (the links with --json).`

  static examples = ['<%= config.bin %> prune', { description: 'In a namespace', command: '<%= config.bin %> prune --netns blue' }]

  async run(): Promise<void> {
    const { flags } = await this.parse(Prune)
    const netns = flags.netns
    const links = await call({ action: 'list', netns }, async (native) => parseLinks(await native.listLinksJson('nlmon', target(netns))))
    const removed: LinkInfo[] = []
    for (const link of orphans(links)) {
      if (parseEphemeralAlias(link.ifalias) === undefined) continue
      await removeEphemeral(link, netns)
      removed.push(link)
    }
    this.emit(removed.map(linkJson), () => removed.map((l) => l.ifname).join('\n'))
  }
}
