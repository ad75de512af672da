/**
 * One interface over the inference runtimes. A runtime's code is imported
 * only when a model of its format is loaded, so an agent that only runs
 * ONNX never parses TensorFlow.js, and the agent's own code stays small.
 */

import type { ManifestFormat } from '@kafka-edge/models/manifest'
import { AgentError } from '../errors.ts'
import type { ModelManifest } from '../models/manifest.ts'
import type { EnginePorts } from '../ports.ts'

export interface TensorValue {
  data: Float32Array | BigInt64Array | Int32Array
  dims: number[]
}

export interface TensorOutput {
  data: ArrayLike<number | bigint>
  dims: readonly number[]
}

/** A loaded model. `run` may be called concurrently; sessions serialize as their runtime needs. */
export interface EngineSession {
  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorOutput>>
  dispose(): Promise<void>
}

export interface Engine {
  /** Loads a fresh session from the model's files (path -> bytes). */
  load(manifest: ModelManifest, files: ReadonlyMap<string, Uint8Array>): Promise<EngineSession>
}

const loaders: Record<ManifestFormat, (ports: EnginePorts) => Promise<Engine>> = {
  onnx: async (ports) => (await import('./onnx.ts')).createOnnxEngine(ports),
  tfjs: async () => (await import('./tfjs.ts')).createTfjsEngine(),
}

/** Engines by format, each created on first use. */
export class Engines {
  readonly #created = new Map<string, Promise<Engine>>()
  constructor(private readonly ports: EnginePorts) {}

  get(format: string): Promise<Engine> {
    const loader = Object.hasOwn(loaders, format) ? loaders[format as ManifestFormat] : undefined
    if (loader === undefined) return Promise.reject(new AgentError('E_ENGINE_UNSUPPORTED', `format "${format}"`))
    let engine = this.#created.get(format)
    if (engine === undefined) {
      engine = loader(this.ports)
      engine.catch(() => this.#created.delete(format))
      this.#created.set(format, engine)
    }
    return engine
  }
}

/** Runs tasks one after another (runtimes that must not run a session concurrently). */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task)
    this.#tail = next.catch(() => undefined)
    return next
  }
}

/** What onnxruntime-web and onnxruntime-node have in common, as far as running a session goes. */
export interface OrtRuntime {
  Tensor: new (data: TensorValue['data'], dims: readonly number[]) => unknown
}
export interface OrtSession {
  run(feeds: Record<string, never>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>
}

/** One run of an ONNX Runtime session (web or native): named tensors in, named outputs out. */
export async function runOrtSession(
  ort: OrtRuntime,
  session: OrtSession,
  feeds: Record<string, TensorValue>,
): Promise<Record<string, TensorOutput>> {
  const tensors: Record<string, unknown> = {}
  for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.data, t.dims)
  let result: Awaited<ReturnType<OrtSession['run']>>
  try {
    result = await session.run(tensors as Record<string, never>)
  } catch (e) {
    throw new AgentError('E_INFERENCE', (e as Error).message)
  }
  const out: Record<string, TensorOutput> = {}
  for (const [name, tensor] of Object.entries(result)) {
    out[name] = { data: tensor.data as ArrayLike<number | bigint>, dims: tensor.dims }
  }
  return out
}
