/**
 * Test models: copies of the committed ones with other versions, golden
 * vectors or files, signed by a key generated for the test run.
 */

import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signManifest } from '@kafka-edge/models/manifest-signing'
import type { ModelManifest } from '@kafka-edge/models/manifest'

export const modelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models')

export interface TestKey {
  keyId: string
  privateKey: KeyObject
  publicPem: string
}

export function generateTestKey(keyId = 'test'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { keyId, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

export function readCommittedManifest(model: string): ModelManifest {
  return JSON.parse(readFileSync(join(modelsDir, model, 'manifest.json'), 'utf8')) as ModelManifest
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Writes <root>/<name>/<version>/ with the committed model's files and a
 * manifest changed by `edit`, then signed by `key`. Returns the folder.
 */
export function publishVariant(
  root: string,
  model: string,
  key: TestKey,
  edit: (m: ModelManifest) => void = () => {},
  sourceDir = join(modelsDir, model),
): { dir: string; manifest: ModelManifest; path: string } {
  const manifest = structuredClone(readCommittedManifest(model))
  edit(manifest)
  const dir = join(root, manifest.name, String(manifest.version))
  mkdirSync(dir, { recursive: true })
  for (const file of manifest.files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true })
    cpSync(join(sourceDir, file.path), join(dir, file.path))
  }
  const signed = signManifest(manifest, key.privateKey, key.keyId) as ModelManifest
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(signed, null, 2))
  return { dir, manifest: signed, path: `${manifest.name}/${manifest.version}/manifest.json` }
}

/** Writes a hand-made model (manifest + files) under <root>/<name>/<version>/, signed by `key`. */
export function publishModel(
  root: string,
  manifest: Omit<ModelManifest, 'files' | 'signature'>,
  files: Record<string, Uint8Array>,
  key: TestKey,
): { dir: string; manifest: ModelManifest; path: string } {
  const dir = join(root, manifest.name, String(manifest.version))
  mkdirSync(dir, { recursive: true })
  const list = Object.entries(files).map(([path, bytes]) => {
    writeFileSync(join(dir, path), bytes)
    return { path, size: bytes.length, sha256: sha256(bytes) }
  })
  const signed = signManifest({ ...manifest, files: list }, key.privateKey, key.keyId) as ModelManifest
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(signed, null, 2))
  return { dir, manifest: signed, path: `${manifest.name}/${manifest.version}/manifest.json` }
}

/** A manifest for unaryModel(): input x (feature "x"), output y. */
export function unaryManifest(
  name: string,
  version: number,
  golden: [number, number][],
): Omit<ModelManifest, 'files' | 'signature'> {
  return {
    name,
    version,
    format: 'onnx',
    entry: 'model.onnx',
    inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 1], features: ['x'], units: ['1'] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
    golden: { tolerance: 1e-5, vectors: golden.map(([x, y]) => ({ input: { x }, output: { y: [[y]] } })) },
    rollout: {
      percent: 100,
      groups: [],
      probation: { predictions: 5, seconds: 60 },
      abort: { failureRatio: 0.2, minDevices: 10 },
    },
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: null,
  }
}
