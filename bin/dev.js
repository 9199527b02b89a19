#!/usr/bin/env node
// Development entry: rebuilds the TypeScript first, then runs like bin/run.js.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', root], { stdio: 'inherit' })
const { main } = await import('../dist/index.js')
await main(process.argv.slice(2), import.meta.url)
