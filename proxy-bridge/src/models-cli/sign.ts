import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ManifestFile } from '@kafka-edge/models/manifest'
import { signManifest } from '@kafka-edge/models/manifest-signing'
import { checkManifestShape } from '../models/manifest-check.ts'
import { ExitCodes, UsageError } from './cli-support.ts'
import { measure, readManifest } from './model-dir.ts'

export const help = `Usage: kafka-edge-models sign <dir> --key FILE --key-id ID [--version N]

Rewrites <dir>/manifest.json: recomputes size and sha256 of every file it
lists (each must exist in <dir>), optionally sets the version, and signs it
with the Ed25519 private key FILE (PKCS#8 PEM) under key id ID. The signature
covers the canonical JSON of the manifest without its signature field
(models/README.md).`

export async function sign(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      'key-id': { type: 'string' },
      version: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(help)
    return ExitCodes.OK
  }
  const dir = positionals[0]
  if (!dir || positionals.length > 1) throw new UsageError('sign takes exactly one model directory')
  if (!values.key || !values['key-id']) throw new UsageError('sign needs --key FILE and --key-id ID')
  const manifest = readManifest(dir) as { version: number; files: ManifestFile[] }
  if (values.version !== undefined) {
    const version = Number(values.version)
    if (!Number.isSafeInteger(version) || version < 1) throw new UsageError('--version must be an integer >= 1')
    manifest.version = version
  }
  for (const file of manifest.files ?? []) Object.assign(file, await measure(dir, file.path))
  const signed = signManifest(manifest, readFileSync(values.key, 'utf8'), values['key-id'])
  checkManifestShape(signed)
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(signed, null, 2)}\n`)
  console.log(`signed ${signed.name} v${signed.version} (${signed.files.length} files) with key ${values['key-id']}`)
  return ExitCodes.OK
}
