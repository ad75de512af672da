/**
 * Signs every manifest.json under models/ (the last step of the model
 * build), or with --check verifies them without writing.
 *
 *   npx tsx models/scripts/sign-manifests.ts [--check] [--key FILE --key-id ID] [--public-key FILE]
 *
 * Defaults to the DEVELOPMENT key in models/keys/ (key id "dev").
 * Exit codes: 0 ok, 1 a manifest failed verification, 2 bad usage.
 */

import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { signManifest, verifyManifest } from '../src/manifest-signing.ts'

const modelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SKIP = new Set(['node_modules', 'build', 'keys', 'scripts', 'src', 'test'])

function findManifests(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.') || SKIP.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findManifests(path))
    else if (entry.name === 'manifest.json') found.push(path)
  }
  return found
}

function parseCli() {
  return parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      key: { type: 'string', default: join(modelsDir, 'keys', 'dev-ed25519.private.pem') },
      'key-id': { type: 'string', default: 'dev' },
      'public-key': { type: 'string', default: join(modelsDir, 'keys', 'dev-ed25519.public.pem') },
      help: { type: 'boolean', default: false },
    },
  })
}

function main(): number {
  let args: ReturnType<typeof parseCli>
  try {
    args = parseCli()
  } catch (error) {
    console.error(String(error))
    return 2
  }
  if (args.values.help) {
    console.log('usage: sign-manifests [--check] [--key FILE] [--key-id ID] [--public-key FILE]')
    return 0
  }
  const keyId = args.values['key-id']
  const publicKeys = { [keyId]: readFileSync(args.values['public-key'], 'utf8') }
  let failed = 0
  for (const path of findManifests(modelsDir)) {
    const name = relative(modelsDir, path)
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as object
    if (!args.values.check) {
      const signed = signManifest(manifest, readFileSync(args.values.key, 'utf8'), keyId)
      writeFileSync(path, `${JSON.stringify(signed, null, 2)}\n`)
      if (!verifyManifest(signed, publicKeys)) {
        console.error(`[models] ${name}: signed, but does not verify with ${args.values['public-key']}`)
        failed++
        continue
      }
      console.log(`[models] signed ${name} (key ${keyId})`)
    } else if (verifyManifest(manifest, publicKeys)) {
      console.log(`[models] verified ${name} (key ${keyId})`)
    } else {
      console.error(`[models] ${name}: signature does not verify`)
      failed++
    }
  }
  return failed === 0 ? 0 : 1
}

process.exitCode = main()
