/**
 * Golden vectors of every committed ONNX model reproduce in onnxruntime-web
 * (WASM, one thread) under Node, with the .wasm read from node_modules.
 */

import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-web'
import { beforeAll, describe, expect, it } from 'vitest'
import { featuresToTensor, withinTolerance } from '../src/golden.ts'
import { ALL_MODELS, committedManifests, isBuilt, modelsDir, readGolden } from './committed-models.ts'

beforeAll(() => {
  const require = createRequire(import.meta.url)
  const dist = dirname(require.resolve('onnxruntime-web'))
  ort.env.wasm.numThreads = 1
  ort.env.wasm.proxy = false
  // Hand the runtime its binary so it never fetches one.
  ort.env.wasm.wasmBinary = readFileSync(join(dist, 'ort-wasm-simd-threaded.wasm'))
  ort.env.logLevel = 'error'
})

async function runVector(
  session: ort.InferenceSession,
  inputs: Parameters<typeof featuresToTensor>[0][],
  features: Parameters<typeof featuresToTensor>[1],
) {
  const feeds: Record<string, ort.Tensor> = {}
  for (const input of inputs) {
    const t = featuresToTensor(input, features)
    feeds[input.name] = new ort.Tensor(input.dtype, t.data, t.dims)
  }
  return session.run(feeds)
}

// Committed models always; on-demand ones (minilm) where they have been built.
const cases = ALL_MODELS.filter((model) => isBuilt(model)).flatMap((model) => {
  const golden = readGolden(model)
  return Object.entries(golden.models)
    .filter(([, g]) => g.format === 'onnx')
    .map(([file, g]) => ({ model, file, golden, tolerance: g.tolerance ?? golden.tolerance, vectors: g.vectors }))
})

describe.each(cases)('$model/$file in onnxruntime-web', ({ model, file, golden, tolerance, vectors }) => {
  let session: ort.InferenceSession
  beforeAll(async () => {
    session = await ort.InferenceSession.create(readFileSync(join(modelsDir, model, file)), {
      executionProviders: ['wasm'],
    })
  })

  it('declares the inputs of golden.json', () => {
    expect([...session.inputNames]).toEqual(golden.inputs.map((i) => i.name))
  })

  it.each(vectors.map((v, i) => ({ i, v })))('golden vector $i', async ({ v }) => {
    const result = await runVector(session, golden.inputs, v.input)
    for (const [name, expected] of Object.entries(v.output)) {
      const actual = result[name]
      expect(actual, `output ${name}`).toBeDefined()
      const check = withinTolerance(actual?.data as ArrayLike<number | bigint>, expected, tolerance)
      expect(check.ok, `${name}: ${check.message ?? ''}`).toBe(true)
    }
  })
})

describe.each(
  committedManifests().filter((f) => f.manifest.format === 'onnx' && existsSync(join(f.dir, f.manifest.entry))),
)('$path golden vectors', ({ dir, manifest }) => {
  it('reproduce in onnxruntime-web', async () => {
    const session = await ort.InferenceSession.create(readFileSync(join(dir, manifest.entry)))
    for (const vector of manifest.golden.vectors) {
      const result = await runVector(session, manifest.inputs, vector.input)
      for (const [name, expected] of Object.entries(vector.output)) {
        const check = withinTolerance(
          result[name]?.data as ArrayLike<number | bigint>,
          expected,
          manifest.golden.tolerance,
        )
        expect(check.ok, `${name}: ${check.message ?? ''}`).toBe(true)
      }
    }
  })
})
