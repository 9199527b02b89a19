#!/usr/bin/env node
// Development entry: rebuilds the bundle and manifest from src/ first, then runs like bin/run.js.
import { execFileSync } from 'node:child_process'

execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' })
const { main } = await import('../dist/index.js')
await main(process.argv.slice(2), import.meta.url)
