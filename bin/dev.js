#!/usr/bin/env node
// Development entry: rebuilds both bundles and the manifest from src/ first, then runs them as
// bin/run.js does — the lean one for the script verbs, else the full CLI — without code caches.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' })
const require = createRequire(import.meta.url)
const argv = process.argv.slice(2)
const importAddon = () => import('#native')
// Built above, so required by a computed path (the type-check does not read the bundles).
const bundle = (/** @type {string} */ name) => require(`../dist/${name}.cjs`)
const done = process.env.NLMONCTL_FAST_PATH !== '0' && (await bundle('lean').main(argv, { importAddon }))
if (!done) await bundle('index').main(argv, import.meta.url, { importAddon })
