/**
 * The engines against references: every committed ONNX file gives the same
 * outputs in onnxruntime-web (through the agent's engine) as in native
 * onnxruntime-node, and reproduces golden.json; the TF.js model (uint8
 * quantized weights) reproduces its golden vectors in the tfjs engine.
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { withinTolerance } from '@kafka-edge/models/golden'
import type { ManifestInput, ModelManifest } from '@kafka-edge/models/manifest'
import { describe, expect, it } from 'vitest'
import { Engines } from '../src/core/engines/engine.ts'
import { inputToTensors } from '../src/core/models/features.ts'
import { nodeOnnxWasm } from '../src/node/onnx-wasm.ts'
import { modelsDir, readCommittedManifest } from './support/signing.ts'

const ortNode = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-web')
const engines = new Engines({ threads: 1, onnxWasm: nodeOnnxWasm })

interface GoldenFile {
  tolerance: number
  inputs: ManifestInput[]
  models: Record<
    string,
    {
      format: string
      tolerance?: number
      vectors: { input: Record<string, number | number[]>; output: Record<string, unknown> }[]
    }
  >
}

const cases = ['wine', 'vibration-anomaly'].flatMap((model) => {
  const golden = JSON.parse(readFileSync(join(modelsDir, model, 'golden.json'), 'utf8')) as GoldenFile
  return Object.entries(golden.models).map(([file, g]) => ({ model, file, golden, g }))
})

describe.each(cases.filter((c) => c.g.format === 'onnx'))('$model/$file', ({ model, file, golden, g }) => {
  it('gives the same outputs in onnxruntime-web as in native onnxruntime-node, and reproduces golden.json', async () => {
    const bytes = new Uint8Array(readFileSync(join(modelsDir, model, file)))
    const manifest = { ...readCommittedManifest(model), entry: file, inputs: golden.inputs } as ModelManifest
    const web = await (await engines.get('onnx')).load(manifest, new Map([[file, bytes]]))
    const native = await ortNode.InferenceSession.create(bytes)
    const tolerance = g.tolerance ?? golden.tolerance
    for (const vector of g.vectors) {
      const feeds = inputToTensors(manifest, vector.input)
      const a = await web.run(feeds)
      const b = await native.run(
        Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, new ortNode.Tensor(t.data, t.dims)])),
      )
      for (const [name, expected] of Object.entries(vector.output)) {
        const ours = a[name]?.data as ArrayLike<number | bigint>
        expect(withinTolerance(ours, expected, tolerance).ok, `${name} vs golden`).toBe(true)
        const theirs = Array.from(b[name]?.data as ArrayLike<number | bigint>, Number)
        const parity = withinTolerance(ours, theirs, 1e-5)
        expect(parity.ok, `${name} web vs native: ${parity.message ?? ''}`).toBe(true)
      }
    }
    await web.dispose()
    await native.release()
  })
})

describe('tfjs engine', () => {
  it('loads uint8-quantized weights and reproduces the manifest golden vectors', async () => {
    const dir = join(modelsDir, 'vibration-anomaly', 'tfjs')
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest
    const files = new Map(manifest.files.map((f) => [f.path, new Uint8Array(readFileSync(join(dir, f.path)))]))
    const session = await (await engines.get('tfjs')).load(manifest, files)
    for (const vector of manifest.golden.vectors) {
      const out = await session.run(inputToTensors(manifest, vector.input))
      for (const [name, expected] of Object.entries(vector.output))
        expect(withinTolerance(out[name]?.data ?? [], expected, manifest.golden.tolerance).ok, name).toBe(true)
    }
    await session.dispose()
  })

  it('refuses an unknown format with E_ENGINE_UNSUPPORTED', async () => {
    await expect(engines.get('pickle')).rejects.toMatchObject({ code: 'E_ENGINE_UNSUPPORTED' })
  })
})
