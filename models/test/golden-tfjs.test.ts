/**
 * Golden vectors of the committed TF.js model reproduce in @tensorflow/tfjs
 * (pure JS CPU backend, no tfjs-node), loaded from the files through
 * tf.io.fromMemory.
 */

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { featuresToTensor, withinTolerance } from '../src/golden.ts'
import { committedManifests, modelsDir, readGolden } from './committed-models.ts'

interface ModelJson {
  modelTopology: object
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
  format?: string
  generatedBy?: string
  convertedBy?: string | null
}

/** Loads a LayersModel from model.json and its shards on disk. */
async function loadLayersModelFromFiles(modelJsonPath: string): Promise<tf.LayersModel> {
  const dir = join(modelJsonPath, '..')
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights)
  const shards = json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p))))
  const bytes = Buffer.concat(shards)
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }))
}

beforeAll(async () => {
  await tf.setBackend('cpu')
  await tf.ready()
})

const golden = readGolden('vibration-anomaly')
const tfjsModels = Object.entries(golden.models).filter(([, g]) => g.format === 'tfjs')

describe('vibration-anomaly TF.js model', () => {
  it('is in golden.json', () => {
    expect(tfjsModels.map(([file]) => file)).toEqual(['tfjs/model.json'])
  })

  it('stores every weight as uint8 with min and scale', () => {
    const json = JSON.parse(
      readFileSync(join(modelsDir, 'vibration-anomaly', 'tfjs', 'model.json'), 'utf8'),
    ) as ModelJson
    const weights = json.weightsManifest.flatMap((g) => g.weights)
    expect(weights.length).toBeGreaterThan(0)
    for (const w of weights) {
      expect(w.quantization?.dtype, w.name).toBe('uint8')
      expect(typeof w.quantization?.min).toBe('number')
      expect(typeof w.quantization?.scale).toBe('number')
    }
  })

  describe.each(
    tfjsModels.map(([file, g]) => ({ file, tolerance: g.tolerance ?? golden.tolerance, vectors: g.vectors })),
  )('$file', ({ file, tolerance, vectors }) => {
    let model: tf.LayersModel
    beforeAll(async () => {
      model = await loadLayersModelFromFiles(join(modelsDir, 'vibration-anomaly', file))
    })

    it('has the input and outputs of golden.json', () => {
      expect(model.inputNames).toEqual(golden.inputs.map((i) => i.name))
      expect(model.outputNames).toEqual(Object.keys(vectors[0]?.output ?? {}))
    })

    it.each(vectors.map((v, i) => ({ i, v })))('golden vector $i', ({ v }) => {
      const input = golden.inputs[0]
      if (input === undefined) throw new Error('golden.json has no input')
      const t = featuresToTensor(input, v.input)
      const x = tf.tensor(t.data as Float32Array, t.dims, 'float32')
      const out = model.predict(x) as tf.Tensor[]
      model.outputNames.forEach((name, k) => {
        const check = withinTolerance(out[k]?.dataSync() as Float32Array, v.output[name], tolerance)
        expect(check.ok, `${name}: ${check.message ?? ''}`).toBe(true)
      })
      tf.dispose([x, ...out])
    })
  })
})

describe.each(committedManifests().filter((f) => f.manifest.format === 'tfjs'))(
  '$path golden vectors',
  ({ dir, manifest }) => {
    it('reproduce in @tensorflow/tfjs', async () => {
      const model = await loadLayersModelFromFiles(join(dir, manifest.entry))
      for (const vector of manifest.golden.vectors) {
        const input = manifest.inputs[0]
        if (input === undefined) throw new Error('manifest has no input')
        const t = featuresToTensor(input, vector.input)
        const outputs = tf.tidy(
          () => model.predict(tf.tensor(t.data as Float32Array, t.dims, 'float32')) as tf.Tensor[],
        )
        for (const [name, expected] of Object.entries(vector.output)) {
          const k = model.outputNames.indexOf(name)
          expect(k, `output ${name}`).toBeGreaterThanOrEqual(0)
          const check = withinTolerance(outputs[k]?.dataSync() as Float32Array, expected, manifest.golden.tolerance)
          expect(check.ok, `${name}: ${check.message ?? ''}`).toBe(true)
        }
        tf.dispose(outputs)
      }
    })
  },
)
