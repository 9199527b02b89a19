import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { attributeFlags, attributeValues } from '../core/attribute-flags.js'
import { ruleForFlag, validateAttributes } from '../core/attributes.js'
import { NlmonctlError, usageError } from '../core/errors.js'
import { linkJson } from '../core/link-json.js'
import { call, target } from '../core/native.js'

export default class Add extends BaseCommand {
  static summary = 'Create an nlmon link; it is UP (capturing) unless --down.'

  static description = `An nlmon link mirrors the netlink traffic of its network namespace, but only while it is UP, so add brings it up by default. Without NAME the kernel's naming applies (nlmon0, nlmon1, …); a NAME with "%d" gets the lowest free number. Prints the link's name (so l=$(nlmonctl add) works), or the link as JSON. Each attribute flag's help names the kernel rule it mirrors; values the kernel would refuse are refused here, before any netlink request.`

  static examples = [
    { description: 'Create a capturing link and keep its name', command: 'l=$(<%= config.bin %> add)' },
    { description: 'A named link with an alias, left DOWN', command: '<%= config.bin %> add mon0 --alias "ci capture" --down' },
    { description: 'Idempotent setup in a script', command: '<%= config.bin %> add mon0 --if-not-exists' },
    { description: 'In another network namespace, as JSON', command: '<%= config.bin %> add --netns blue --json' },
  ]

  static args = {
    name: Args.string({
      description: `Link name; default: the kernel picks nlmon0, nlmon1, … (IFLA_IFNAME: ${ruleForFlag('name')?.rule})`,
      required: false,
    }),
  }

  static flags = {
    ...attributeFlags('add'),
    down: Flags.boolean({ summary: 'Leave the link DOWN (it captures nothing until set --up).' }),
    'if-not-exists': Flags.boolean({
      summary: 'Succeed if an nlmon link of that name already exists (another kind holding the name is still an error).',
    }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Add)
    const settings = validateAttributes('add', { name: args.name, ...attributeValues('add', flags) })
    const name = settings.name === '' ? undefined : settings.name
    if (flags['if-not-exists'] && (name === undefined || name.includes('%'))) {
      throw usageError('--if-not-exists needs an explicit NAME (without "%d")')
    }
    const ctx = { action: 'create' as const, link: name, netns: flags.netns }
    const request = { ...settings, name, kind: 'nlmon', up: !flags.down }
    try {
      const link = await call(ctx, (native) => native.createLink(request, target(flags.netns)))
      this.emit(linkJson(link), () => link.ifname)
    } catch (error) {
      if (!(flags['if-not-exists'] && error instanceof NlmonctlError && error.code === 'ALREADY_EXISTS')) throw error
      const existing = await call({ ...ctx, action: 'look up' }, (native) =>
        native.getLink({ name: name as string }, target(flags.netns)),
      )
      if (existing.kind !== 'nlmon') {
        throw new NlmonctlError(
          'ALREADY_EXISTS',
          `link "${existing.ifname}" already exists and is not an nlmon link (kind: ${existing.kind ?? 'none'})`,
        )
      }
      this.emit(linkJson(existing), () => existing.ifname)
    }
  }
}
