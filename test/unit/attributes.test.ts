import { checkIfname, MTU_MAX, NLMON_MIN_MTU, parseU32, validateAttributes } from '../../src/core/attributes.js'
import { ExitCode, NlmonctlError } from '../../src/core/errors.js'

function verdict(command: 'add' | 'set', flags: Record<string, string>): 'ok' | string {
  try {
    validateAttributes(command, flags)
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
  test.each(['4294967296', '-1', '1.5', '', 'abc', '1e3', '0x', '99999999999999999999'])('%j is not a u32', (raw) =>
    expect(parseU32(raw)).toBeUndefined(),
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

  test('txqueuelen and group are u32', () => {
    for (const flag of ['txqueuelen', 'group']) {
      expect(verdict('add', { [flag]: '0' })).toBe('ok')
      expect(verdict('add', { [flag]: '4294967295' })).toBe('ok')
      expect(verdict('add', { [flag]: '4294967296' })).toMatch(new RegExp(`--${flag}.*unsigned 32-bit`))
      expect(verdict('set', { [flag]: '-1' })).toMatch(/unsigned 32-bit/)
    }
    expect(validateAttributes('add', { group: 'default' })).toEqual({ group: 0 })
    expect(validateAttributes('add', { txqlen: '7' })).toEqual({ txqlen: 7 }) // alias spelling
  })

  test('alias up to 255 bytes', () => {
    expect(verdict('add', { alias: 'a'.repeat(255) })).toBe('ok')
    expect(verdict('add', { alias: 'a'.repeat(256) })).toMatch(/at most 255 bytes, got 256.*IFLA_IFALIAS/)
    expect(verdict('set', { alias: 'ü'.repeat(128) })).toMatch(/got 256/)
    expect(validateAttributes('set', { alias: '' })).toEqual({ alias: '' })
  })

  test('names: empty means "kernel picks" at creation, is refused as a new name', () => {
    expect(validateAttributes('add', { name: '' })).toEqual({ name: '' })
    expect(verdict('set', { name: '' })).toMatch(/--name "": must not be empty/)
    expect(verdict('add', { name: 'x'.repeat(16) })).toMatch(/^invalid name "x{16}": must be at most 15 bytes/)
    expect(validateAttributes('set', { name: 'mon%d' })).toEqual({ name: 'mon%d' })
  })

  test.each(['address', 'lladdr', 'mac', 'hwaddr', 'broadcast', 'brd'])(
    '--%s is refused for nlmon whatever its value, and says why',
    (flag) => {
      for (const value of ['00:11:22:33:44:55', '', 'ff:ff:ff:ff:ff:ff']) {
        for (const command of ['add', 'set'] as const) {
          const message = verdict(command, { [flag]: value })
          expect(message).toMatch(/nlmon links have no hardware address/)
          expect(message).toMatch(flag === 'broadcast' || flag === 'brd' ? /IFLA_BROADCAST/ : /IFLA_ADDRESS/)
        }
      }
    },
  )

  test('the driver rule for IFLA_ADDRESS names EINVAL', () => {
    expect(verdict('add', { address: '02:00:00:00:00:01' })).toMatch(/EINVAL/)
  })

  test('unknown attribute is refused', () => {
    expect(verdict('add', { qdisc: 'fq' })).toMatch(/unknown attribute --qdisc/)
  })

  test('every value of a valid set reaches the settings', () => {
    expect(
      validateAttributes('set', { name: 'mon1', mtu: '0x1000', txqueuelen: '10', group: '3', alias: 'hi' }),
    ).toEqual({ name: 'mon1', mtu: 4096, txqlen: 10, group: 3, alias: 'hi' })
  })
})
