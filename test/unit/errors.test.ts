import { ExitCode, fromNative, NlmonctlError, parseNativeError } from '../../src/core/errors.js'

const nativeError = (info: Record<string, unknown>) => new Error(JSON.stringify(info))

describe('native error mapping', () => {
  test.each([
    [{ code: 'ENODEV', errno: 19, message: 'No such device' }, 'look up', 'NOT_FOUND', 3],
    [{ code: 'EEXIST', errno: 17, message: 'File exists' }, 'create', 'ALREADY_EXISTS', 4],
    [{ code: 'EKIND', message: 'kind mismatch', kind: 'veth', ifname: 'v0' }, 'delete', 'NOT_NLMON', 5],
    [{ code: 'EPERM', errno: 1, message: 'Operation not permitted' }, 'create', 'PERMISSION_DENIED', 6],
    [{ code: 'EACCES', errno: 13, message: 'Permission denied' }, 'change', 'PERMISSION_DENIED', 6],
    [{ code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported', extack: 'Unknown device type' }, 'create', 'NO_NLMON_SUPPORT', 7],
    [{ code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported' }, 'change', 'KERNEL_ERROR', 1],
    [{ code: 'ENETNS', errno: 2, message: 'No such file or directory', netns: 'blue' }, 'list', 'NETNS_NOT_FOUND', 8],
    [{ code: 'ENETNS', errno: 1, message: 'Operation not permitted', netns: 'blue' }, 'list', 'PERMISSION_DENIED', 6],
    [{ code: 'ENETNS', errno: 22, message: 'cannot setns network namespace /etc/hostname: Invalid argument', netns: '/etc/hostname' }, 'list', 'NETNS_NOT_FOUND', 8],
    [{ code: 'ENETNS', errno: 5, message: 'cannot open network namespace /x: Input/output error', netns: '/x' }, 'list', 'KERNEL_ERROR', 1],
    [{ code: 'EINVAL', errno: 22, message: 'Invalid argument', extack: 'mtu less than device minimum.' }, 'create', 'KERNEL_ERROR', 1],
    [{ code: 'EBUSY', errno: 16, message: 'Device or resource busy' }, 'change', 'KERNEL_ERROR', 1],
  ] as const)('%j during %s → %s (exit %d)', (info, action, code, exit) => {
    const error = fromNative(nativeError(info), { action, link: 'mon0' })
    expect(error.code).toBe(code)
    expect(error.exitCode).toBe(exit)
    expect(ExitCode[code]).toBe(exit)
    expect(error.toLine()).not.toContain('\n')
  })

  test('a namespace that cannot be entered is named once, with the reason', () => {
    const info = { code: 'ENETNS', errno: 5, message: 'cannot open network namespace /x: Input/output error', netns: '/x' }
    expect(fromNative(nativeError(info), { action: 'list' }).toLine()).toBe('cannot enter network namespace "/x": Input/output error')
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
    const perm = fromNative(nativeError({ code: 'EPERM', errno: 1, message: 'Operation not permitted' }), { action: 'create' })
    expect(perm.toLine()).toMatch(/CAP_NET_ADMIN/)
    const nodriver = fromNative(
      nativeError({ code: 'EOPNOTSUPP', errno: 95, message: 'Operation not supported', extack: 'Unknown device type' }),
      { action: 'create' },
    )
    expect(nodriver.toLine()).toMatch(/Unknown device type.*CONFIG_NLMON.*modprobe nlmon/)
  })

  test('the real kind is named when refusing', () => {
    const error = fromNative(nativeError({ code: 'EKIND', message: 'x', kind: null, ifname: 'lo' }), { action: 'delete', link: 'lo' })
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
