// Signed model directories for the model benchmarks, made with the
// DEVELOPMENT key (models/keys): a copy of wine, or a synthetic model with one
// file of a given size; and what a bench bridge needs to serve them.
import { execFile } from 'node:child_process'
import { randomBytes, createHash } from 'node:crypto'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signManifest } from '@kafka-edge/models/manifest-signing'
import { repoRoot, workDir } from './stack.ts'

export const devPublicKey = join(repoRoot, 'models', 'keys', 'dev-ed25519.public.pem')
const devPrivateKey = join(repoRoot, 'models', 'keys', 'dev-ed25519.private.pem')

/** Bridge config section that trusts the development key, with its own file cache. */
export function modelBridgeConfig(name: string): Record<string, unknown> {
  return { models: { signingKeys: { dev: devPublicKey }, cacheDir: join(workDir, `${name}-cache`) } }
}

/** `kafka-edge-models publish dir` to a bench bridge's topics (its config file names them). */
export function publishModel(dir: string, bridge: { configFile: string }, brokers: string[]): Promise<void> {
  const bin = join(repoRoot, 'proxy-bridge/bin/kafka-edge-models.js')
  const args = ['publish', dir, '--config', bridge.configFile, '--brokers', brokers.join(',')]
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args, '--trusted-key', `dev=${devPublicKey}`, '--quiet'],
      (error, _out, stderr) =>
        error ? reject(new Error(`kafka-edge-models publish ${dir} failed: ${stderr}`)) : resolve(),
    )
  })
}

function writeSigned(dir: string, manifest: Record<string, unknown>): void {
  const signed = signManifest(manifest, readFileSync(devPrivateKey, 'utf8'), 'dev')
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(signed, null, 2)}\n`)
}

/** models/wine re-signed as `version`. */
export function wineVersion(version: number, percent: number): string {
  const dir = join(workDir, `fanout-wine-v${version}`)
  cpSync(join(repoRoot, 'models', 'wine'), dir, { recursive: true })
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>
  writeSigned(dir, { ...manifest, version, rollout: { ...(manifest.rollout as object), percent } })
  return dir
}

/** A model whose single file is `bytes` of random data. */
export function blobModel(name: string, bytes: number): { dir: string; file: string; sha256: string } {
  const dir = join(workDir, `${name}-model`)
  mkdirSync(dir, { recursive: true })
  const data = randomBytes(bytes)
  const file = join(dir, 'blob.bin')
  writeFileSync(file, data)
  const sha256 = createHash('sha256').update(data).digest('hex')
  const wine = JSON.parse(readFileSync(join(repoRoot, 'models', 'wine', 'manifest.json'), 'utf8')) as Record<
    string,
    unknown
  >
  writeSigned(dir, {
    ...wine,
    name,
    version: 1,
    entry: 'blob.bin',
    files: [{ path: 'blob.bin', size: bytes, sha256 }],
  })
  return { dir, file, sha256 }
}
