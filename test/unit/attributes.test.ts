import {
  checkIfname,
  MTU_MAX,
  NLMON_MIN_MTU,
  parseLladdr,
  parseU32,
  runningKernel,
  validateAttributes,
} from '../../src/core/attributes.js'
import { ExitCode, NlmonctlError } from '../../src/core/errors.js'

const LINUX_7_2 = runningKernel('7.2.13+deb14-amd64')
const LINUX_6_12 = runningKernel('6.12.118+deb13-amd64')
const LINUX_6_1 = runningKernel('6.1.0-56-amd64')

function verdict(command: 'add' | 'set', flags: Record<string, string>, kernel = LINUX_7_2): 'ok' | string {
  try {
    validateAttributes(command, flags, kernel)
    return 'ok'
  } catch (error) {
    expect(error).toBeInstanceOf(NlmonctlError)
    expect((error as NlmonctlError).exitCode).toBe(ExitCode.INVALID_INPUT)
    return (error as NlmonctlError).message
  }
}

describe('interface names (dev_valid_name + dev_alloc_name)', () => {
  test.each([
    ['a', undefined],
    ['x'.repeat(15), undefined],
    ['nlmon%d', undefined],
    ['cap-1.2_x', undefined],
    ['é', undefined], // UTF-8 C3 A9: no whitespace byte
  ])('%j is accepted', (name, expected) => expect(checkIfname(name)).toBe(expected))

  test.each([
    ['', /empty/],
    ['x'.repeat(16), /at most 15 bytes/],
    ['é'.repeat(8), /at most 15 bytes.*got 16/],
    ['.', /"\."/],
    ['..', /"\."/],
    ['a/b', /'\/'/],
    ['a:b', /':'/],
    ['a b', /whitespace/],
    ['a\tb', /whitespace/],
    ['a\u00a0b', /whitespace/], // UTF-8 C2 A0: the kernel's isspace() counts 0xA0
    ['à', /whitespace/], // UTF-8 C3 A0
    ['a%s', /%d/],
    ['a%d%d', /%d/],
    ['a%', /%d/],
  ])('%j is refused', (name, reason) => expect(checkIfname(name)).toMatch(reason))
})

describe('parseU32', () => {
  test.each([
    ['0', 0],
    ['4294967295', 4294967295],
    ['0x10', 16],
    ['0XfF', 255],
  ])('%s → %d', (raw, value) => expect(parseU32(raw)).toBe(value))
  test.each(['4294967296', '-1', '1.5', '', 'abc', '1e3', '0x', '99999999999999999999', '16 ', ' 16', '\t16', '16\n'])(
    '%j is not a u32',
    (raw) => expect(parseU32(raw)).toBeUndefined(),
  )
})

describe('validateAttributes', () => {
  test('MTU on both sides of each bound', () => {
    expect(verdict('add', { mtu: String(NLMON_MIN_MTU - 1) })).toMatch(/--mtu "15": must be at least 16.*IFLA_MTU/)
    expect(verdict('add', { mtu: String(NLMON_MIN_MTU) })).toBe('ok')
    expect(verdict('add', { mtu: String(MTU_MAX) })).toBe('ok')
    expect(verdict('add', { mtu: String(MTU_MAX + 1) })).toMatch(/at most 2147483647/)
    expect(verdict('set', { mtu: '0' })).toMatch(/at least 16/)
    expect(verdict('set', { mtu: 'big' })).toMatch(/unsigned 32-bit/)
  })

  test('group is a u32', () => {
    expect(verdict('add', { group: '0' })).toBe('ok')
    expect(verdict('set', { group: '4294967295' })).toBe('ok')
    expect(verdict('add', { group: '4294967296' })).toMatch(/--group.*unsigned 32-bit/)
    expect(verdict('set', { group: '-1' })).toMatch(/unsigned 32-bit/)
    expect(validateAttributes('add', { group: 'default' }, LINUX_7_2)).toEqual({ group: 0 })
  })

  test('txqueuelen: 0..32767 on change everywhere and at creation from 6.12; any u32 at creation on 6.1', () => {
    for (const kernel of [LINUX_6_1, LINUX_6_12, LINUX_7_2]) {
      expect(verdict('set', { txqueuelen: '0' }, kernel)).toBe('ok')
      expect(verdict('set', { txqueuelen: '32767' }, kernel)).toBe('ok')
      expect(verdict('set', { txqueuelen: '32768' }, kernel)).toMatch(/at most 32767/)
      expect(verdict('add', { txqueuelen: '32767' }, kernel)).toBe('ok')
      expect(verdict('add', { txqueuelen: '-1' }, kernel)).toMatch(/unsigned 32-bit/)
    }
    expect(verdict('add', { txqueuelen: '32768' }, LINUX_6_12)).toMatch(/at most 32767/)
    expect(verdict('add', { txqueuelen: '32768' }, LINUX_7_2)).toMatch(/at most 32767/)
    expect(verdict('add', { txqueuelen: '4294967295' }, LINUX_6_1)).toBe('ok')
    expect(verdict('add', { txqueuelen: '4294967296' }, LINUX_6_1)).toMatch(/unsigned 32-bit/)
    expect(validateAttributes('add', { txqlen: '7' }, LINUX_7_2)).toEqual({ txqlen: 7 }) // alias spelling
  })

  test('the running kernel version comes from uname -r', () => {
    expect(LINUX_6_1).toEqual({ major: 6, minor: 1 })
    expect(LINUX_7_2).toEqual({ major: 7, minor: 2 })
    expect(runningKernel('weird')).toEqual({ major: 0, minor: 0 })
  })

  test('alias up to 255 bytes', () => {
    expect(verdict('add', { alias: 'a'.repeat(255) })).toBe('ok')
    expect(verdict('add', { alias: 'a'.repeat(256) })).toMatch(/at most 255 bytes, got 256.*IFLA_IFALIAS/)
    expect(verdict('set', { alias: 'ü'.repeat(128) })).toMatch(/got 256/)
    expect(validateAttributes('set', { alias: '' }, LINUX_7_2)).toEqual({ alias: '' })
  })

  test('names: empty means "kernel picks" at creation and "no rename" on change, as the kernel has it', () => {
    expect(validateAttributes('add', { name: '' }, LINUX_7_2)).toEqual({ name: '' })
    expect(validateAttributes('set', { name: '' }, LINUX_7_2)).toEqual({ name: '' })
    expect(verdict('add', { name: 'x'.repeat(16) })).toMatch(/^invalid name "x{16}": must be at most 15 bytes/)
    expect(validateAttributes('set', { name: 'mon%d' }, LINUX_7_2)).toEqual({ name: 'mon%d' })
  })

  test.each(['address', 'lladdr', 'mac', 'hwaddr'])(
    '--%s is refused for nlmon whatever its value, and says why',
    (flag) => {
      for (const value of ['00:11:22:33:44:55', '', 'ff:ff:ff:ff:ff:ff']) {
        for (const command of ['add', 'set'] as const) {
          const message = verdict(command, { [flag]: value })
          expect(message).toMatch(/nlmon links have no hardware address/)
          expect(message).toMatch(/IFLA_ADDRESS/)
        }
      }
    },
  )

  test('--broadcast is passed on as the kernel takes it (measured), if it is an address of 1..32 bytes', () => {
    expect(validateAttributes('add', { broadcast: 'ff:ff:ff:ff:ff:ff' }, LINUX_7_2)).toEqual({
      broadcast: Buffer.from([255, 255, 255, 255, 255, 255]),
    })
    expect(validateAttributes('set', { brd: '1:2' }, LINUX_7_2)).toEqual({ broadcast: Buffer.from([1, 2]) })
    expect(verdict('add', { broadcast: Array(32).fill('ab').join(':') })).toBe('ok')
    expect(verdict('add', { broadcast: Array(33).fill('ab').join(':') })).toMatch(/at most 32 bytes.*IFLA_BROADCAST/)
    expect(verdict('add', { broadcast: 'zz:00' })).toMatch(/link-layer address/)
    expect(verdict('add', { broadcast: '' })).toMatch(/link-layer address/)
  })

  test('parseLladdr', () => {
    expect(parseLladdr('0:a:FF')).toEqual(Buffer.from([0, 10, 255]))
    expect(parseLladdr('001:02')).toBeUndefined()
    expect(parseLladdr('a::b')).toBeUndefined()
  })

  test('the driver rule for IFLA_ADDRESS names EINVAL', () => {
    expect(verdict('add', { address: '02:00:00:00:00:01' })).toMatch(/EINVAL/)
  })

  test('unknown attribute is refused', () => {
    expect(verdict('add', { qdisc: 'fq' })).toMatch(/unknown attribute --qdisc/)
  })

  test('every value of a valid set reaches the settings', () => {
    expect(
      validateAttributes('set', { name: 'mon1', mtu: '0x1000', txqueuelen: '10', group: '3', alias: 'hi' }, LINUX_7_2),
    ).toEqual({ name: 'mon1', mtu: 4096, txqlen: 10, group: 3, alias: 'hi' })
  })
})
