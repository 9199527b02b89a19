#!/usr/bin/env node
// Development entry: rebuilds the bundle and manifest from src/ first, then runs it (no code cache).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' })
const { main } = createRequire(import.meta.url)('../dist/index.cjs')
await main(process.argv.slice(2), import.meta.url, { importAddon: () => import('#native') })
