#!/usr/bin/env node
// Bundles the CLI twice, each into one CommonJS file that bin/run.js compiles with a V8 code cache:
//  - dist/lean.cjs (src/lean.ts): the script verbs add, del, list, set, stats and their refusals,
//    without @oclif/* — what a script pays per call is mostly start-up (bench/startup). The build fails
//    if any @oclif module gets into it (test/unit/lean-bundle.test.ts checks the same).
//  - dist/index.cjs (src/index.ts): the full CLI, our TypeScript, @oclif/core and the rest: one file to
//    read and compile instead of ~500 modules. oclif finds the commands in it through the "explicit"
//    strategy (package.json oclif.commands).
// dist/ is rebuilt from scratch each time, so nothing stale survives.
import { build } from 'esbuild'
import { readFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

// In a script whose code came from a V8 code cache, Node 20 has no loader for import() ("A dynamic
// import callback was not specified"). oclif imports ES-module plugins (help, autocomplete) with
// import(): in its module loader those calls go to __nlmonctlImport, which is the importer bin/run.js
// passes in (an import() of its own, from an ES module), or import() itself when the bundle is loaded
// the ordinary way (oclif manifest, bin/dev.js).
/** @type {import('esbuild').Plugin} */
const oclifImports = {
  name: 'oclif-imports-through-the-entry',
  setup(build) {
    build.onLoad({ filter: /@oclif[/\\]core[/\\]lib[/\\]module-loader\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      const contents = text.replaceAll('await import(', 'await __nlmonctlImport(')
      if (contents === text) throw new Error(`${args.path} has no "await import(" any more: update scripts/bundle.js`)
      return { contents, loader: 'js' }
    })
  },
}

// What both bundles share. CommonJS, one file: bin/run.js compiles it with a V8 code cache (node:vm
// cachedData), which Node 20 offers for scripts, not for ES modules. Code that is never called
// (execa, for `trace`) is only compiled when called. The addon stays a separate file (#native, the
// package's own import map); from the code-cached script bin/run.js hands over its loader (see
// loadAddon in src/core/native.ts).
/** @type {import('esbuild').BuildOptions & { metafile: true }} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  supported: { 'dynamic-import': true },
  metafile: true,
}

/** The lean bundle's options (test/unit/lean-bundle.test.ts builds it in memory with them). */
export const leanOptions = {
  ...common,
  entryPoints: [`${root}src/lean.ts`],
  outfile: `${root}dist/lean.cjs`,
  external: ['#native'],
}

/** The inputs of a bundle that come from an @oclif package (none may be in the lean one). */
export const oclifInputs = (/** @type {import('esbuild').Metafile} */ metafile) =>
  Object.keys(metafile.inputs).filter((path) => /(^|[/\\])@oclif[/\\]/.test(path))

async function bundle() {
  await rm(`${root}dist`, { recursive: true, force: true })
  const lean = await build(leanOptions)
  const leaked = oclifInputs(lean.metafile)
  if (leaked.length > 0) throw new Error(`dist/lean.cjs must not load oclif, but bundles ${leaked.join(', ')}`)
  await build({
    ...common,
    entryPoints: [`${root}src/index.ts`],
    outfile: `${root}dist/index.cjs`,
    // oclif only reaches for typescript/ts-node when running TypeScript sources in development.
    external: ['typescript', 'ts-node', '#native'],
    plugins: [oclifImports],
    banner: {
      js: "var __nlmonctlImport = typeof __nlmonctlImportHost === 'function' ? __nlmonctlImportHost : (specifier) => import(specifier);",
    },
  })
}

// Imported by a test for the options above: then it builds nothing.
if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle()
