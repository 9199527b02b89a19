import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkOutput } from '../../src/core/capture.js'
import { ExitCode, fromNative, NlmonctlError, notNlmon, parseNativeError } from '../../src/core/errors.js'
import type { IpLink } from '../../src/core/ip-link.js'
import { requireNlmon } from '../../src/core/operations.js'

const nativeError = (info: Record<string, unknown>) => new Error(JSON.stringify(info))

describe('native error mapping', () => {
  test.each([
    [{ code: 'ENODEV', errno: 19, message: 'No such device' }, 'look up', 'NOT_FOUND', 3],
    [{ code: 'EEXIST', errno: 17, message: 'File exists' }, 'create', 'ALREADY_EXISTS', 4],
    [{ code: 'EKIND', message: 'kind mismatch', kind: 'veth', ifname: 'v0' }, 'delete', 'NOT_NLMON', 5],
    [{ code: 'EPERM', errno: 1, message: 'Operation not permitted' }, 'create', 'PERMISSION_DENIED', 6],
    [{ code: 'EACCES', errno: 13, message: 'Permission denied' }, 'change', 'PERMISSION_DENIED', 6],
    [
      { code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported', extack: 'Unknown device type' },
      'create',
      'NO_NLMON_SUPPORT',
      7,
    ],
    [{ code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported' }, 'change', 'KERNEL_ERROR', 1],
    [{ code: 'ENETNS', errno: 2, message: 'No such file or directory', netns: 'blue' }, 'list', 'NETNS_NOT_FOUND', 8],
    [{ code: 'ENETNS', errno: 1, message: 'Operation not permitted', netns: 'blue' }, 'list', 'PERMISSION_DENIED', 6],
    [
      {
        code: 'ENETNS',
        errno: 22,
        message: 'cannot setns network namespace /etc/hostname: Invalid argument',
        netns: '/etc/hostname',
      },
      'list',
      'NETNS_NOT_FOUND',
      8,
    ],
    [
      { code: 'ENETNS', errno: 5, message: 'cannot open network namespace /x: Input/output error', netns: '/x' },
      'list',
      'KERNEL_ERROR',
      1,
    ],
    [
      {
        code: 'ENETNS',
        errno: 40,
        message: 'cannot open network namespace /l: Too many levels of symbolic links',
        netns: '/l',
      },
      'list',
      'NETNS_NOT_FOUND',
      8,
    ],
    [
      {
        code: 'ENETNS',
        errno: 20,
        message: 'cannot open network namespace /etc/passwd/x: Not a directory',
        netns: '/etc/passwd/x',
      },
      'list',
      'NETNS_NOT_FOUND',
      8,
    ],
    [
      { code: 'ENETNS', errno: 36, message: 'cannot open network namespace /a: File name too long', netns: '/a' },
      'list',
      'NETNS_NOT_FOUND',
      8,
    ],
    [
      { code: 'EINVAL', errno: 22, message: 'Invalid argument', extack: 'mtu less than device minimum.' },
      'create',
      'KERNEL_ERROR',
      1,
    ],
    [{ code: 'EBUSY', errno: 16, message: 'Device or resource busy' }, 'change', 'KERNEL_ERROR', 1],
  ] as const)('%j during %s → %s (exit %d)', (info, action, code, exit) => {
    const error = fromNative(nativeError(info), { action, link: 'mon0' })
    expect(error.code).toBe(code)
    expect(error.exitCode).toBe(exit)
    expect(ExitCode[code]).toBe(exit)
    expect(error.toLine()).not.toContain('\n')
  })

  test('a NAME with %d whose numbers are all taken: no free name, exit 4 (the kernel says ENFILE)', () => {
    const info = { code: 'ENFILE', errno: 23, message: 'Too many open files in system', op: 'RTM_NEWLINK' }
    const error = fromNative(nativeError(info), { action: 'create', link: 'abcdefghijklm%d' })
    expect(error.exitCode).toBe(4)
    expect(error.toLine()).toBe('no free name for abcdefghijklm%d: every number it can take is in use (ENFILE)')
    expect(fromNative(nativeError(info), { action: 'create', link: 'mon0' }).exitCode).toBe(1)
  })

  test('a namespace that cannot be entered is named once, with the reason', () => {
    const info = {
      code: 'ENETNS',
      errno: 5,
      message: 'cannot open network namespace /x: Input/output error',
      netns: '/x',
    }
    expect(fromNative(nativeError(info), { action: 'list' }).toLine()).toBe(
      'cannot enter network namespace "/x": Input/output error',
    )
  })

  test('the kernel extack text and errno reach the line and the JSON', () => {
    const error = fromNative(
      nativeError({ code: 'EINVAL', errno: 22, message: 'Invalid argument', extack: 'mtu less than device minimum.' }),
      { action: 'create', link: 'mon0' },
    )
    expect(error.toLine()).toBe('cannot create link "mon0": Invalid argument (EINVAL: mtu less than device minimum.)')
    expect(error.toJSON()).toEqual({
      error: {
        code: 'KERNEL_ERROR',
        exitCode: 1,
        message: 'cannot create link "mon0": Invalid argument',
        errno: 'EINVAL',
        errnoNumber: 22,
        kernelMessage: 'mtu less than device minimum.',
      },
    })
  })

  test('hints: CAP_NET_ADMIN for EPERM, CONFIG_NLMON / modprobe for a missing driver', () => {
    const perm = fromNative(nativeError({ code: 'EPERM', errno: 1, message: 'Operation not permitted' }), {
      action: 'create',
    })
    expect(perm.toLine()).toMatch(/CAP_NET_ADMIN/)
    const nodriver = fromNative(
      nativeError({ code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported', extack: 'Unknown device type' }),
      { action: 'create' },
    )
    expect(nodriver.toLine()).toMatch(/Unknown device type.*CONFIG_NLMON.*modprobe nlmon/)
  })

  test('the real kind is named when refusing', () => {
    const error = fromNative(nativeError({ code: 'EKIND', message: 'x', kind: null, ifname: 'lo' }), {
      action: 'delete',
      link: 'lo',
    })
    expect(error.message).toBe('link "lo" is not an nlmon link (kind: none); refusing to delete it')
  })

  test('a rejection that is not ours is an internal error, not a crash', () => {
    expect(parseNativeError(new Error('boom')).code).toBe('EINTERNAL')
    expect(fromNative(new Error('boom'), { action: 'list' }).exitCode).toBe(1)
    expect(fromNative('{"not":"ours"}', { action: 'list' })).toBeInstanceOf(NlmonctlError)
  })

  test('exit codes are distinct', () => {
    const codes = Object.values(ExitCode)
    expect(new Set(codes).size).toBe(codes.length)
  })
})

describe('not an nlmon link: one check, one wording', () => {
  const link = (ifname: string, kind?: string | null) =>
    ({ ifindex: 7, ifname, ...(kind ? { linkinfo: { info_kind: kind } } : {}) }) as IpLink

  test('requireNlmon returns an nlmon link as it is', () => {
    const mon = link('mon0', 'nlmon')
    expect(requireNlmon(mon, 'mon0')).toBe(mon)
    expect(requireNlmon(mon, '7', { refusing: 'delete it' })).toBe(mon)
  })

  test.each([
    // del, stats, capture, add --if-not-exists: the messages the commands have always printed
    [
      link('veth-a', 'veth'),
      'veth-a',
      { refusing: 'delete it' },
      'NOT_NLMON',
      'link "veth-a" is not an nlmon link (kind: veth); refusing to delete it',
    ],
    [
      link('lo'),
      '1',
      { refusing: 'delete it' },
      'NOT_NLMON',
      'link "1" is not an nlmon link (kind: none); refusing to delete it',
    ],
    [link('lo', null), 'lo', {}, 'NOT_NLMON', 'link "lo" is not an nlmon link (kind: none)'],
    [
      link('br0', 'bridge'),
      'br0',
      { refusing: 'capture on it' },
      'NOT_NLMON',
      'link "br0" is not an nlmon link (kind: bridge); refusing to capture on it',
    ],
    [
      link('dm0', 'dummy'),
      'dm0',
      { nameTaken: true },
      'ALREADY_EXISTS',
      'link "dm0" already exists and is not an nlmon link (kind: dummy)',
    ],
  ] as const)('%j named %j with %j → %s', (l, arg, wording, code, message) => {
    let thrown: unknown
    try {
      requireNlmon(l, arg, wording)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(NlmonctlError)
    expect((thrown as NlmonctlError).code).toBe(code)
    expect((thrown as NlmonctlError).message).toBe(message)
  })

  test("the native layer's own check (EKIND) is worded the same, naming the namespace when there is one", () => {
    const ekind = nativeError({ code: 'EKIND', message: 'x', kind: 'veth', ifname: 'veth-a', ifindex: 3 })
    expect(fromNative(ekind, { action: 'change', link: 'veth-a' }).message).toBe(
      'link "veth-a" is not an nlmon link (kind: veth); refusing to change it',
    )
    expect(fromNative(ekind, { action: 'delete', link: '3', netns: 'blue' }).message).toBe(
      'link "3" in network namespace "blue" is not an nlmon link (kind: veth); refusing to delete it',
    )
    expect(notNlmon('link "x"', undefined).message).toBe('link "x" is not an nlmon link (kind: none)')
  })
})

describe('capture errors go through the same mapping', () => {
  const captureFailure = (info: Record<string, unknown> | string, file?: string) =>
    fromNative(typeof info === 'string' ? new Error(info) : nativeError(info), { action: 'capture', file })

  test.each([
    // the pcap file's own problems, named as such
    [
      { code: 'EEXIST', errno: 17, message: 'File exists', op: 'open(pcap)' },
      'out.pcap',
      { code: 'ALREADY_EXISTS', exitCode: 4, message: 'out.pcap already exists', hint: 'use --force to replace it' },
    ],
    [
      { code: 'ELOOP', errno: 40, message: 'Too many levels of symbolic links', op: 'open(pcap)' },
      'out.pcap',
      {
        code: 'INVALID_INPUT',
        exitCode: 2,
        message: 'out.pcap is a symbolic link: captures are never written through one',
      },
    ],
    [
      { code: 'ENOENT', errno: 2, message: 'No such file or directory', op: 'open(pcap)' },
      'in.pcap',
      { code: 'NOT_FOUND', exitCode: 3, message: 'in.pcap: no such file or directory' },
    ],
    [
      { code: 'EACCES', errno: 13, message: 'Permission denied', op: 'open(pcap)' },
      '/root/x.pcap',
      {
        code: 'PERMISSION_DENIED',
        exitCode: 6,
        message: '/root/x.pcap: permission denied',
        errno: 'EACCES',
        errnoNumber: 13,
      },
    ],
    [
      { code: 'EPERM', errno: 1, message: 'Operation not permitted', op: 'fchmod(pcap)' },
      'x.pcap',
      { code: 'PERMISSION_DENIED', exitCode: 6, message: 'x.pcap: permission denied', errno: 'EPERM', errnoNumber: 1 },
    ],
    [
      { code: 'ENOSPC', errno: 28, message: 'No space left on device', op: 'write(pcap)' },
      '/mnt/full/x.pcap',
      {
        code: 'KERNEL_ERROR',
        exitCode: 1,
        message: 'cannot write /mnt/full/x.pcap: no space left on device',
        errno: 'ENOSPC',
        errnoNumber: 28,
        hint: 'the capture ended; the file holds every packet written before, up to its last whole record',
      },
    ],
    [
      { code: 'EPROTO_NL', message: 'unexpected netlink reply: bad magic', op: 'read(pcap)' },
      'in.pcap',
      { code: 'KERNEL_ERROR', exitCode: 1, message: 'in.pcap: unexpected netlink reply: bad magic' },
    ],
    // the capture itself
    [
      { code: 'EARG', message: 'unknown netlink family "bogus"' },
      undefined,
      { code: 'INVALID_INPUT', exitCode: 2, message: 'unknown netlink family "bogus"' },
    ],
    [
      { code: 'EPERM', errno: 1, message: 'Operation not permitted', op: 'socket(AF_PACKET)' },
      undefined,
      {
        code: 'PERMISSION_DENIED',
        exitCode: 6,
        message: 'cannot capture: Operation not permitted',
        errno: 'EPERM',
        errnoNumber: 1,
        hint: 'capturing needs CAP_NET_RAW and CAP_NET_ADMIN: run as root',
      },
    ],
    [
      { code: 'EACCES', errno: 13, message: 'Permission denied', op: 'socket(AF_PACKET)' },
      'out.pcap',
      {
        code: 'PERMISSION_DENIED',
        exitCode: 6,
        message: 'cannot capture: Permission denied',
        errno: 'EACCES',
        errnoNumber: 13,
        hint: 'capturing needs CAP_NET_RAW and CAP_NET_ADMIN: run as root',
      },
    ],
    [
      { code: 'ENODEV', errno: 19, message: 'No such device', op: 'bind(AF_PACKET)' },
      undefined,
      {
        code: 'KERNEL_ERROR',
        exitCode: 1,
        message: 'capture failed: No such device (bind(AF_PACKET))',
        errno: 'ENODEV',
        errnoNumber: 19,
      },
    ],
    [
      { code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported', extack: 'x', op: 'poll(AF_PACKET)' },
      undefined,
      {
        code: 'KERNEL_ERROR',
        exitCode: 1,
        message: 'capture failed: Operation not supported (poll(AF_PACKET))',
        errno: 'EOPNOTSUPP',
        errnoNumber: 95,
        kernelMessage: 'x',
      },
    ],
    [
      { code: 'EPANIC', message: 'internal error (panic): oops' },
      undefined,
      { code: 'KERNEL_ERROR', exitCode: 1, message: 'capture failed: internal error (panic): oops' },
    ],
    ['not ours', undefined, { code: 'KERNEL_ERROR', exitCode: 1, message: 'capture failed: not ours' }],
  ] as const)('%j (file %s) → %j', (info, file, expected) => {
    const error = captureFailure(info, file)
    expect(error.toJSON()).toEqual({ error: expected })
    expect(error.toLine()).not.toContain('\n')
  })

  test('a capture whose link or namespace went away under it says so, with exit codes 3 and 8', () => {
    const ended = (info: Record<string, unknown>, netns?: string) =>
      fromNative(nativeError(info), { action: 'capture', link: 'nlmon0', netns }).toJSON()
    expect(ended({ code: 'ENODEV', errno: 19, message: 'No such device', op: 'capture(link)' })).toMatchObject({
      error: { code: 'NOT_FOUND', exitCode: 3, message: 'the capture link "nlmon0" was deleted; the capture ended' },
    })
    expect(ended({ code: 'ENETDOWN', errno: 100, message: 'Network is down', op: 'capture(link)' })).toMatchObject({
      error: { code: 'KERNEL_ERROR', exitCode: 1, message: 'the capture link "nlmon0" went down; the capture ended' },
    })
    expect(
      ended({ code: 'ENOENT', errno: 2, message: 'No such file or directory', op: 'capture(netns)' }, 'blue'),
    ).toMatchObject({
      error: {
        code: 'NETNS_NOT_FOUND',
        exitCode: 8,
        message: 'network namespace "blue" was deleted; the capture ended',
      },
    })
  })

  test('a namespace that cannot be entered reads the same for a capture as for a link request', () => {
    const gone = {
      code: 'ENETNS',
      errno: 2,
      message: 'cannot open network namespace blue: No such file or directory',
      netns: 'blue',
    }
    expect(captureFailure(gone).toJSON()).toEqual(fromNative(nativeError(gone), { action: 'list' }).toJSON())
    expect(captureFailure(gone).toJSON()).toMatchObject({
      error: { code: 'NETNS_NOT_FOUND', exitCode: 8, message: 'network namespace "blue" not found' },
    })
  })

  test('an existing -w file is refused in the same words before the capture (checkOutput) and by the native open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nlmonctl-errors-'))
    try {
      const file = join(dir, 'kept.pcap')
      writeFileSync(file, '')
      let early: unknown
      try {
        checkOutput(file, false)
      } catch (error) {
        early = error
      }
      const late = captureFailure({ code: 'EEXIST', errno: 17, message: 'File exists', op: 'open(pcap)' }, file)
      expect((early as NlmonctlError).toJSON()).toEqual(late.toJSON())
      expect(() => checkOutput(file, true)).not.toThrow()
      expect(() => checkOutput(join(dir, 'new.pcap'), false)).not.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('an error already mapped passes through', () => {
    const mapped = new NlmonctlError('NOT_FOUND', 'x')
    expect(fromNative(mapped, { action: 'capture', file: 'f' })).toBe(mapped)
    expect(fromNative(mapped, { action: 'delete', link: 'mon0' })).toBe(mapped)
  })
})

describe('what an error message quotes is bounded', () => {
  test('a long run keeps 200 characters and says its size in bytes; short messages are unchanged', () => {
    const long = 'é'.repeat(1000)
    expect(new NlmonctlError('INVALID_INPUT', `invalid name "${long}"`).message).toBe(
      `invalid name "${'é'.repeat(199)}…(2002 bytes)`,
    )
    expect(new NlmonctlError('INVALID_INPUT', 'invalid --mtu "16 "').message).toBe('invalid --mtu "16 "')
  })

  test('control characters are escaped, newlines kept for the parser messages folded later', () => {
    const error = new NlmonctlError('INVALID_INPUT', 'bad "a\r\u001b[2J\u0000\tb"\nnext')
    expect(error.message).toBe('bad "a\\x0d\\x1b[2J\\x00\\x09b"\nnext')
    expect(error.toLine()).toBe('bad "a\\x0d\\x1b[2J\\x00\\x09b" next')
  })
})
