#!/usr/bin/env node
// `npm run pack [-- OUTDIR]`: the installable tarballs, laid out the way napi-rs publishes addons.
//   nlmonctl-VERSION.tgz                          bin/, dist/ (the bundled CLI), oclif.manifest.json and the
//                                                 napi loader (native/index.js); no .node, no Rust
//   nlmonctl-native-linux-x64-gnu-VERSION.tgz     @nlmonctl/native-linux-x64-gnu: the prebuilt addon, an
//                                                 optionalDependency of nlmonctl (os/cpu/libc-gated)
// The loader tries ./nlmonctl.linux-x64-gnu.node next to itself (a source checkout), then the platform
// package. Installing needs no cargo and runs no install script:
//   npm install -g ./packed/nlmonctl-0.1.0.tgz ./packed/nlmonctl-native-linux-x64-gnu-0.1.0.tgz
// Needs a build first (npm run build): this script packs, it does not compile.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = resolve(process.argv[2] ?? `${root}packed`)
const platformDir = `${root}native/npm/linux-x64-gnu`
const addon = 'nlmonctl.linux-x64-gnu.node'

const main = JSON.parse(readFileSync(`${root}package.json`, 'utf8'))
const platform = JSON.parse(readFileSync(`${platformDir}/package.json`, 'utf8'))
if (platform.version !== main.version) {
  throw new Error(`version mismatch: nlmonctl ${main.version}, ${platform.name} ${platform.version}`)
}
for (const built of ['dist/lean.cjs', 'dist/index.cjs', 'oclif.manifest.json', `native/${addon}`, 'native/index.js']) {
  if (!existsSync(`${root}${built}`)) throw new Error(`${built} is missing: run \`npm run build\` first`)
}
copyFileSync(`${root}native/${addon}`, `${platformDir}/${addon}`)
mkdirSync(out, { recursive: true })

const pack = (/** @type {string} */ cwd) => {
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd, encoding: 'utf8' }),
  )
  return { file: resolve(out, info.filename), files: info.files.map((/** @type {{ path: string }} */ f) => f.path) }
}
// The optionalDependency on the platform package is added only to the packed package.json: in the
// repository it would make \`npm ci\` look for an unpublished package and fail on a fresh clone.
const stage = mkdtempSync(`${tmpdir()}/nlmonctl-pack-`)
let tarballs
try {
  for (const entry of [...main.files, 'README.md']) {
    for (const path of entry.includes('*') ? [] : [entry]) {
      if (existsSync(`${root}${path}`)) cpSync(`${root}${path}`, `${stage}/${path}`, { recursive: true })
    }
  }
  const packed = { ...main, optionalDependencies: { ...main.optionalDependencies, [platform.name]: platform.version } }
  writeFileSync(`${stage}/package.json`, JSON.stringify(packed, null, 2) + '\n')
  tarballs = [pack(stage), pack(platformDir)]
} finally {
  rmSync(stage, { recursive: true, force: true })
}
for (const t of tarballs) process.stdout.write(`${t.file}\n`)
if (process.env.NLMONCTL_PACK_JSON) process.stderr.write(JSON.stringify(tarballs) + '\n')
