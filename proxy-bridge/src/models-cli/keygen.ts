import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { ExitCodes, UsageError } from './cli-support.ts'

export const help = `Usage: kafka-edge-models keygen --out DIR [--key-id ID]

Generates an Ed25519 signing key pair for model manifests:
  DIR/ID-ed25519.private.pem  PKCS#8, mode 0600: keep it in your secret store
  DIR/ID-ed25519.public.pem   SPKI: give it to bridges (models.signingKeys) and agents
The key id defaults to "prod". Existing files are never overwritten (exit 3).`

export async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      'key-id': { type: 'string', default: 'prod' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(help)
    return ExitCodes.OK
  }
  if (!values.out) throw new UsageError('keygen needs --out DIR')
  const keyId = values['key-id']
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(keyId)) throw new UsageError('--key-id is 1-64 of A-Z a-z 0-9 . _ -')
  const privatePath = join(values.out, `${keyId}-ed25519.private.pem`)
  const publicPath = join(values.out, `${keyId}-ed25519.public.pem`)
  for (const path of [privatePath, publicPath]) {
    if (existsSync(path)) throw new BridgeError(ErrorCodes.BAD_REQUEST, `${path} exists; not overwriting a key`)
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  mkdirSync(values.out, { recursive: true })
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }))
  console.log(`key id ${keyId}\nprivate ${privatePath}\npublic  ${publicPath}`)
  return ExitCodes.OK
}
