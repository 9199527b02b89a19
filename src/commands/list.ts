import { BaseCommand } from '../base-command.js'
import { oneShotApi } from '../core/link-api.js'
import { prepareList } from '../core/operations.js'

export default class List extends BaseCommand {
  static summary = 'List the nlmon links of a network namespace.'

  static description = `One RTM_GETLINK dump filtered to kind nlmon. STATE is the administrative state: an nlmon link captures only while UP. With --json, an array of link objects with the keys of \`ip -j -s -d link show\` (ifindex, ifname, flags, mtu, operstate, txqlen, linkinfo.info_kind, stats64, …); [] when there are none.`

  static examples = [
    '<%= config.bin %> list',
    { description: 'Names of the links that capture', command: "<%= config.bin %> list --json | jq -r '.[] | select(.flags | index(\"UP\")) | .ifname'" },
  ]

  async run(): Promise<void> {
    const { flags } = await this.parse(List)
    this.emitOutcome(await prepareList().run(oneShotApi(flags.netns)))
  }
}
