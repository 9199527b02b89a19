#!/usr/bin/env node
// Bundles the CLI (our TypeScript, @oclif/core and the rest) into dist/index.cjs: one file to read and
// compile instead of ~500 modules, which is most of what a script pays per nlmonctl call (bench/startup).
// oclif finds the commands in it through the "explicit" strategy (package.json oclif.commands).
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

await rm(`${root}dist`, { recursive: true, force: true })
await build({
  entryPoints: [`${root}src/index.ts`],
  outfile: `${root}dist/index.cjs`,
  bundle: true,
  platform: 'node',
  // CommonJS, one file: bin/run.js compiles it with a V8 code cache (node:vm cachedData), which Node 20
  // offers for scripts, not for ES modules. Code that is never called (execa, for `trace`) is only
  // compiled when called.
  format: 'cjs',
  target: 'node20',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  // oclif only reaches for typescript/ts-node when running TypeScript sources in development.
  // The addon stays a separate file (#native, the package's own import map); from the code-cached
  // script bin/run.js hands over its loader (see loadAddon in src/core/native.ts).
  external: ['typescript', 'ts-node', '#native'],
  supported: { 'dynamic-import': true },
  plugins: [oclifImports],
  banner: {
    js: "var __nlmonctlImport = typeof __nlmonctlImportHost === 'function' ? __nlmonctlImportHost : (specifier) => import(specifier);",
  },
})
