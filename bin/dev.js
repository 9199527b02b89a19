#!/usr/bin/env node
// Development entry: rebuilds both bundles and the manifest from src/ first, then runs them as
// bin/run.js does — the lean one for the script verbs, else the full CLI — without code caches.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' })
const require = createRequire(import.meta.url)
const argv = process.argv.slice(2)
const importAddon = () => import('#native')
const done = process.env.NLMONCTL_FAST_PATH !== '0' && (await require('../dist/lean.cjs').main(argv, { importAddon }))
if (!done) await require('../dist/index.cjs').main(argv, import.meta.url, { importAddon })
