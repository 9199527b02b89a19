#!/usr/bin/env node
// Bundles the CLI (our TypeScript, @oclif/core and the rest) into dist/index.js: one file to read and
// compile instead of ~500 modules, which is most of what a script pays per nlmonctl call (bench/startup).
// oclif finds the commands in it through the "explicit" strategy (package.json oclif.commands).
// dist/ is rebuilt from scratch each time, so no stale chunk survives.
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

await rm(`${root}dist`, { recursive: true, force: true })
await build({
  entryPoints: [`${root}src/index.ts`],
  outdir: `${root}dist`,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  // What a command imports dynamically (heavy, rarely needed) becomes a chunk loaded only when used.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  // oclif only reaches for typescript/ts-node when running TypeScript sources in development.
  // @oclif/core is CommonJS: give its require() calls a real require in the ESM bundle.
  banner: { js: "import { createRequire as __nlmonctlRequire } from 'node:module'; const require = __nlmonctlRequire(import.meta.url);" },
  // The addon stays a separate file, loaded on demand through the package's own #native import map,
  // which resolves from any file of the package (index or chunk).
  external: ['typescript', 'ts-node', '#native'],
})
