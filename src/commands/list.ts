import { BaseCommand } from '../base-command.js'
import { isUp, linkJson } from '../core/link-json.js'
import { call, target } from '../core/native.js'
import { renderTable } from '../core/output.js'

export default class List extends BaseCommand {
  static summary = 'List the nlmon links of a network namespace.'

  static description = `One RTM_GETLINK dump filtered to kind nlmon. STATE is the administrative state: an nlmon link captures only while UP. With --json, an array of link objects with the keys of \`ip -j -s -d link show\` (ifindex, ifname, flags, mtu, operstate, txqlen, linkinfo.info_kind, stats64, …); [] when there are none.`

  static examples = [
    '<%= config.bin %> list',
    { description: 'Names of the links that capture', command: "<%= config.bin %> list --json | jq -r '.[] | select(.flags | index(\"UP\")) | .ifname'" },
  ]

  async run(): Promise<void> {
    const { flags } = await this.parse(List)
    const links = await call({ action: 'list', netns: flags.netns }, (native) =>
      native.listLinks('nlmon', target(flags.netns)),
    )
    this.emit(links.map(linkJson), () =>
      links.length === 0
        ? undefined
        : renderTable(links, [
            { header: 'IFINDEX', get: (l) => l.ifindex, align: 'right' },
            { header: 'NAME', get: (l) => l.ifname },
            { header: 'STATE', get: (l) => (isUp(l) ? 'UP' : 'DOWN') },
            { header: 'MTU', get: (l) => l.mtu, align: 'right' },
            { header: 'TXQLEN', get: (l) => l.txqlen, align: 'right' },
            { header: 'ALIAS', get: (l) => l.ifalias ?? '' },
          ]),
    )
  }
}
