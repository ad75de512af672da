/**
 * TensorFlow.js LayersModels on the pure-JavaScript CPU backend (the
 * tfjs-core, tfjs-layers and tfjs-backend-cpu parts of @tensorflow/tfjs;
 * no WebGL, no converter, which keeps the import small). Weights quantized
 * to uint8/uint16 in the weights manifest are dequantized by tfjs on load.
 */

import type { io, Tensor } from '@tensorflow/tfjs-core'
import type { LayersModel } from '@tensorflow/tfjs-layers'
import { AgentError } from '../errors.ts'
import { modelId } from '../models/manifest.ts'
import type { Engine, EngineSession, TensorOutput, TensorValue } from './engine.ts'

interface ModelJson {
  format?: string
  modelTopology: object
  weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[]
}

const decoder = new TextDecoder()

export async function createTfjsEngine(): Promise<Engine> {
  const [tf, layers] = await Promise.all([
    import('@tensorflow/tfjs-core'),
    import('@tensorflow/tfjs-layers'),
    import('@tensorflow/tfjs-backend-cpu'),
  ])
  // Production mode: no debug checks, and no console advice to install tfjs-node.
  tf.enableProdMode()
  await tf.setBackend('cpu')
  await tf.ready()

  return {
    async load(manifest, files) {
      const id = modelId(manifest)
      const jsonBytes = files.get(manifest.entry)
      if (jsonBytes === undefined) throw new AgentError('E_FILE_MISSING', `${id}: ${manifest.entry}`)
      let model: LayersModel
      try {
        const json = JSON.parse(decoder.decode(jsonBytes)) as ModelJson
        if (json.format !== undefined && json.format !== 'layers-model')
          throw new Error(`TF.js format "${json.format}" (only layers-model is supported)`)
        const dir = manifest.entry.includes('/') ? manifest.entry.slice(0, manifest.entry.lastIndexOf('/') + 1) : ''
        const shards = json.weightsManifest.flatMap((group) => group.paths.map((p) => files.get(dir + p)))
        if (shards.some((s) => s === undefined)) throw new Error('a weight shard of model.json is not in the manifest')
        const total = shards.reduce((n, s) => n + (s as Uint8Array).length, 0)
        const weightData = new Uint8Array(total)
        let at = 0
        for (const s of shards as Uint8Array[]) {
          weightData.set(s, at)
          at += s.length
        }
        const weightSpecs = json.weightsManifest.flatMap((group) => group.weights)
        model = await layers.loadLayersModel(
          tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }),
        )
      } catch (e) {
        throw new AgentError('E_ENGINE_LOAD', `${id}: ${(e as Error).message}`)
      }
      return new TfjsSession(tf, model)
    },
  }
}

type Tf = typeof import('@tensorflow/tfjs-core')

class TfjsSession implements EngineSession {
  constructor(
    private readonly tf: Tf,
    private readonly model: LayersModel,
  ) {}

  async run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorOutput>> {
    const { tf, model } = this
    try {
      // predict is synchronous: concurrent calls cannot interleave inside it.
      const outputs = tf.tidy(() => {
        const xs = model.inputNames.map((name) => {
          const feed = feeds[name]
          if (feed === undefined) throw new Error(`no feed for input "${name}"`)
          const data = feed.data instanceof BigInt64Array ? Int32Array.from(feed.data, Number) : feed.data
          return tf.tensor(data, feed.dims, feed.data instanceof Float32Array ? 'float32' : 'int32')
        })
        const y = model.predict(xs.length === 1 ? (xs[0] as Tensor) : xs)
        return Array.isArray(y) ? y : [y]
      })
      const out: Record<string, TensorOutput> = {}
      model.outputNames.forEach((name, k) => {
        const t = outputs[k] as Tensor
        out[name] = { data: t.dataSync() as Float32Array, dims: t.shape }
      })
      tf.dispose(outputs)
      return out
    } catch (e) {
      throw new AgentError('E_INFERENCE', (e as Error).message)
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose()
  }
}
