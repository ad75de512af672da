/**
 * ONNX models through onnxruntime-web (WASM). The runtime is configured
 * once: the .wasm and its glue come from the runtime adapter (a local file
 * in Node, never a CDN), the thread count from the device's cores.
 */

import type { InferenceSession } from 'onnxruntime-web'
import { AgentError } from '../errors.ts'
import { modelId } from '../models/manifest.ts'
import type { EnginePorts } from '../ports.ts'
import {
  type Engine,
  type EngineSession,
  runOrtSession,
  SerialQueue,
  type TensorOutput,
  type TensorValue,
} from './engine.ts'

type Ort = typeof import('onnxruntime-web')

export async function createOnnxEngine(ports: EnginePorts): Promise<Engine> {
  const ort: Ort = await import('onnxruntime-web')
  const source = await ports.onnxWasm()
  ort.env.logLevel = 'error'
  ort.env.wasm.numThreads = ports.threads
  // The agent calls the runtime from its own thread; a proxy worker only adds a hop.
  ort.env.wasm.proxy = false
  if (source.wasmBinary !== undefined) ort.env.wasm.wasmBinary = source.wasmBinary
  if (source.wasmPaths !== undefined) ort.env.wasm.wasmPaths = source.wasmPaths

  return {
    async load(manifest, files) {
      const bytes = files.get(manifest.entry)
      if (bytes === undefined) throw new AgentError('E_FILE_MISSING', `${modelId(manifest)}: ${manifest.entry}`)
      let session: InferenceSession
      try {
        session = await ort.InferenceSession.create(bytes, {
          executionProviders: ['wasm'],
          graphOptimizationLevel: 'all',
          // Small models at batch 1: the arena and memory pattern buy nothing and cost RSS.
          enableCpuMemArena: false,
          enableMemPattern: false,
          // No QDQ fusion: an int8 model's weights are dequantized once at load
          // (constant folding) and its MatMuls run in float, with the Q/DQ pairs
          // still rounding activations as int8. MLAS's int8 kernels are slow in
          // WASM under Liftoff: vibration-anomaly int8 101 -> 75 µs at batch 1,
          // same outputs (docs/agent.md, "Trade-offs").
          extra: { session: { disable_quant_qdq: '1' } },
        })
      } catch (e) {
        throw new AgentError('E_ENGINE_LOAD', `${modelId(manifest)}: ${(e as Error).message}`)
      }
      return new OnnxSession(ort, session)
    },
  }
}

class OnnxSession implements EngineSession {
  readonly #queue = new SerialQueue()
  constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
  ) {}

  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorOutput>> {
    return this.#queue.run(() => runOrtSession(this.ort, this.session, feeds))
  }

  dispose(): Promise<void> {
    return this.#queue.run(() => this.session.release())
  }
}
