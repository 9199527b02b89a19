// -C/-G/-W (long recordings): every rule is checked before any link exists, each by its one owner —
// the flag parser for the shape of a number, the native checkCaptureOptions for ranges and what goes with what.
import { prepareCapture, rotates } from '../../src/core/capture.js'

describe('capture -C/-G/-W: refused before anything is created', () => {
  test.each([
    [{ 'rotate-size': '1' }, /^-C, -G and -W rotate the -w file: they need -w FILE$/],
    [{ 'rotate-seconds': '2' }, /^-C, -G and -W rotate the -w file: they need -w FILE$/],
    [{ 'rotate-files': '3' }, /^-C, -G and -W rotate the -w file: they need -w FILE$/],
    [{ write: '/tmp/x.pcap', 'rotate-files': '3' }, /^-W keeps the last N files of a rotation: it needs -C or -G$/],
    [{ write: '-', 'rotate-size': '1' }, /^-C, -G and -W rotate files: standard output \(-w -\) cannot be rotated$/],
    [{ write: '-', 'rotate-seconds': '1', 'rotate-files': '2' }, /^-C, -G and -W rotate files: standard output/],
    [
      { write: '/tmp/x.pcap', 'rotate-size': '0' },
      /^invalid --rotate-size "0": must be a whole number greater than 0$/,
    ],
    [{ write: '/tmp/x.pcap', 'rotate-size': '1.5' }, /^invalid --rotate-size "1.5"/],
    [{ write: '/tmp/x.pcap', 'rotate-seconds': '-1' }, /^invalid --rotate-seconds "-1"/],
    [{ write: '/tmp/x.pcap', 'rotate-size': '1000001' }, /^-C must be a whole number from 1 to 1000000, got 1000001$/],
    [{ write: '/tmp/x.pcap', 'rotate-seconds': '31536001' }, /^-G must be a whole number from 1 to 31536000/],
    [{ write: '/tmp/x.pcap', 'rotate-size': '1', 'rotate-files': '1000001' }, /^-W must be a whole number from 1/],
    [{ read: '/tmp/in.pcap', 'rotate-size': '1' }, /^-C, -G and -W rotate the -w file: they need -w FILE$/],
  ])('%j', async (flags, message) => {
    await expect(prepareCapture(flags, false)).rejects.toThrow(message)
  })

  test('a rotation plan', async () => {
    const plan = await prepareCapture(
      { write: '/tmp/nl-%Y%m%d-%H%M%S.pcap', 'rotate-size': '50', 'rotate-seconds': '3600', 'rotate-files': '48' },
      false,
    )
    expect(plan).toMatchObject({ rotateMb: 50, rotateSeconds: 3600, rotateFiles: 48 })
    expect(rotates(plan)).toBe(true)
    // without -C/-G, SIGHUP still ends the capture
    expect(rotates(await prepareCapture({ write: '/tmp/nl-unrotated.pcap' }, false))).toBe(false)
  })
})
