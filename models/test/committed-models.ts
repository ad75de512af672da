/**
 * The committed model folders, their manifests and golden files, as the
 * tests see them. Paths resolve from this file, so any working directory
 * works.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { GoldenVector, ManifestFormat, ManifestInput, ModelManifest } from '../src/manifest.ts'

export const modelsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Models whose artifacts are committed and therefore always tested. */
export const COMMITTED_MODELS = ['wine', 'vibration-anomaly'] as const

/**
 * Models built on demand (npm run build:minilm -w models): their manifest,
 * card and golden vectors are committed, their large .onnx files are not.
 * Tests that need the files run only where the model has been built.
 */
export const ON_DEMAND_MODELS = ['minilm'] as const

export const ALL_MODELS = [...COMMITTED_MODELS, ...ON_DEMAND_MODELS]

/** True when every file golden.json refers to exists (always, for committed models). */
export function isBuilt(model: string): boolean {
  const golden = readGolden(model)
  return Object.keys(golden.models).every((file) => existsSync(join(modelsDir, model, file)))
}

export interface GoldenFile {
  name: string
  tolerance: number
  inputs: ManifestInput[]
  /** Per file; a file's own tolerance overrides the top-level one. */
  models: Record<string, { format: ManifestFormat; tolerance?: number; vectors: GoldenVector[] }>
}

export interface ManifestFixture {
  /** Path of the manifest relative to models/. */
  path: string
  dir: string
  manifest: ModelManifest
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

export function readGolden(model: string): GoldenFile {
  return readJson<GoldenFile>(join(modelsDir, model, 'golden.json'))
}

/** Every committed manifest.json (model folders and their subfolders), on-demand models included. */
export function committedManifests(): ManifestFixture[] {
  const found: ManifestFixture[] = []
  for (const model of ALL_MODELS) {
    const dirs = [join(modelsDir, model)]
    for (const entry of readdirSync(dirs[0] as string, { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(modelsDir, model, entry.name))
    }
    for (const dir of dirs) {
      const path = join(dir, 'manifest.json')
      if (existsSync(path))
        found.push({ path: path.slice(modelsDir.length + 1), dir, manifest: readJson<ModelManifest>(path) })
    }
  }
  return found
}

export function readDevPublicKey(): string {
  return readFileSync(join(modelsDir, 'keys', 'dev-ed25519.public.pem'), 'utf8')
}
