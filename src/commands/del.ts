import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { NlmonctlError, usageError } from '../core/errors.js'
import { checkLinkArg, findLink } from '../core/link-args.js'
import { linkJson } from '../core/link-json.js'
import { call, linkRef, target, type LinkInfo } from '../core/native.js'

export default class Del extends BaseCommand {
  static summary = 'Delete nlmon links, and only nlmon links.'

  static description = `The kernel deletes any link it is asked to (RTM_DELLINK ignores the kind), so del looks each link up, checks that its kind is nlmon, and deletes it by ifindex. Links of any other kind (lo, veth, bridge, …) are refused and left untouched. All arguments are checked before anything is deleted: one refused or missing link means none is deleted. An argument made only of digits is an ifindex. Prints nothing on success (the deleted links with --json).`

  static examples = [
    '<%= config.bin %> del nlmon0',
    { description: 'No error when it is already gone', command: '<%= config.bin %> del nlmon0 --if-exists' },
    { description: 'Remove every nlmon link in a namespace', command: '<%= config.bin %> del --all --netns blue' },
  ]

  static strict = false

  static flags = {
    'if-exists': Flags.boolean({ summary: 'Succeed when a named link does not exist.' }),
    all: Flags.boolean({ summary: 'Delete every nlmon link in the namespace.' }),
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Del)
    const args = argv as string[]
    if (flags.all && args.length > 0) throw usageError('give link names or --all, not both')
    if (!flags.all && args.length === 0) throw usageError('name at least one link to delete (or use --all)')
    for (const arg of args) checkLinkArg(arg)

    const netns = flags.netns
    const links = await call({ action: 'list', netns }, (native) => native.listLinks(null, target(netns)))
    const victims: LinkInfo[] = []
    if (flags.all) {
      victims.push(...links.filter((l) => l.kind === 'nlmon'))
    } else {
      for (const arg of args) {
        const link = findLink(links, arg)
        if (!link) {
          if (flags['if-exists']) continue
          throw new NlmonctlError('NOT_FOUND', `link "${arg}"${netns ? ` in network namespace "${netns}"` : ''} not found`)
        }
        if (link.kind !== 'nlmon') {
          throw new NlmonctlError(
            'NOT_NLMON',
            `link "${arg}" is not an nlmon link (kind: ${link.kind ?? 'none'}); refusing to delete it`,
          )
        }
        if (!victims.some((v) => v.ifindex === link.ifindex)) victims.push(link)
      }
    }

    const deleted: LinkInfo[] = []
    for (const victim of victims) {
      try {
        // By ifindex, with the kind checked again by the native layer right before RTM_DELLINK.
        const ctx = { action: 'delete' as const, link: victim.ifname, netns }
        deleted.push(await call(ctx, (native) => native.deleteLink(linkRef(String(victim.ifindex)), 'nlmon', target(netns))))
      } catch (error) {
        // Someone else deleted it between our dump and our request.
        const gone = error instanceof NlmonctlError && error.code === 'NOT_FOUND'
        if (!(gone && (flags['if-exists'] || flags.all))) throw error
      }
    }
    this.emit(deleted.map(linkJson), () => undefined)
  }
}
