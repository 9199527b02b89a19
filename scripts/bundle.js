#!/usr/bin/env node
// Bundles the CLI (our TypeScript, @oclif/core and the rest) into dist/index.js: one file to read and
// compile instead of ~500 modules, which is most of what a script pays per nlmonctl call (bench/startup).
// oclif finds the commands in it through the "explicit" strategy (package.json oclif.commands).
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

await build({
  entryPoints: [`${root}src/index.ts`],
  outfile: `${root}dist/index.js`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  // oclif only reaches for these when running TypeScript sources in development.
  external: ['typescript', 'ts-node'],
  // @oclif/core is CommonJS: give its require() calls a real require in the ESM bundle.
  banner: { js: "import { createRequire as __nlmonctlRequire } from 'node:module'; const require = __nlmonctlRequire(import.meta.url);" },
  plugins: [
    {
      // The addon stays a separate file, loaded on demand; from dist/ it is ../native/.
      name: 'native-addon-external',
      setup(context) {
        context.onResolve({ filter: /\/native\/index\.js$/ }, () => ({ path: '../native/index.js', external: true }))
      },
    },
  ],
})
