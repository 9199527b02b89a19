// The lean bundle (dist/lean.cjs, src/lean.ts) must never load oclif: it is what makes the script
// verbs start fast. esbuild's metafile lists every module a bundle holds; scripts/bundle.js refuses
// to build one with an @oclif module, and this test checks the same from the source, so that an
// import creeping into src/lean.ts's graph fails here, naming the module.
import { existsSync, readFileSync } from 'node:fs'
import { execa } from 'execa'
import { ROOT } from '../helpers/cli.js'

// esbuild's JS API refuses jest's module sandbox (its TextEncoder check): run it in a plain node.
const inputs = async (): Promise<string[]> => {
  const script = `
    import { build } from 'esbuild'
    import { leanOptions, oclifInputs } from './scripts/bundle.js'
    const { metafile } = await build({ ...leanOptions, write: false, logLevel: 'silent' })
    console.log(JSON.stringify({ inputs: Object.keys(metafile.inputs), oclif: oclifInputs(metafile) }))`
  const result = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT })
  const { inputs, oclif } = JSON.parse(String(result.stdout)) as { inputs: string[]; oclif: string[] }
  expect(oclif).toEqual([])
  return inputs
}

test('no @oclif module in the lean bundle, and it holds the parser, the specs and the operations', async () => {
  const modules = await inputs()
  expect(modules.filter((path) => /@oclif|node_modules/.test(path))).toEqual([])
  for (const needed of [
    'src/lean.ts',
    'src/core/argv.ts',
    'src/core/verbs.ts',
    'src/core/operations.ts',
    'src/specs/add.ts',
    'src/specs/global.ts',
  ]) {
    expect(modules).toContain(needed)
  }
  expect(modules.filter((path) => path.startsWith('src/commands/') || path === 'src/base-command.ts')).toEqual([])
}, 120_000)

test('oclifInputs recognises an @oclif module in a metafile (the check is not vacuous)', async () => {
  const { oclifInputs } = await import('../../scripts/bundle.js')
  const input = { bytes: 0, imports: [] }
  const metafile = { inputs: { 'src/lean.ts': input, 'node_modules/@oclif/core/lib/index.js': input }, outputs: {} }
  expect(oclifInputs(metafile)).toEqual(['node_modules/@oclif/core/lib/index.js'])
})

test('the built dist/lean.cjs requires node built-ins only (the addon comes through bin/run.js)', () => {
  const bundle = `${ROOT}dist/lean.cjs`
  expect(existsSync(bundle)).toBe(true)
  const text = readFileSync(bundle, 'utf8')
  expect(text).not.toContain('@oclif')
  const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])
  expect(required.filter((name) => !name.startsWith('node:'))).toEqual([])
})
