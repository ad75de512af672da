/**
 * The agent's Engine interface over native onnxruntime-node, for scoring in
 * the bridge. The same model bytes a device runs through onnxruntime-web run
 * here on the CPU execution provider; features -> tensors and the naming of
 * outputs stay the agent's (features.ts, outputs.ts), so both sides agree.
 */

import {
  type Engine,
  type EngineSession,
  runOrtSession,
  type TensorOutput,
  type TensorValue,
} from '@kafka-edge/edge-agent/engines/engine'
import { AgentError } from '@kafka-edge/edge-agent/errors'
import { modelId } from '@kafka-edge/edge-agent/models/manifest'
import type { InferenceSession } from 'onnxruntime-node'

type Ort = typeof import('onnxruntime-node')

/** Loaded on first use, so a bridge that never scores never maps the native library. */
export async function createNativeOnnxEngine(options: { intraOpThreads: number }): Promise<Engine> {
  const ort: Ort = await import('onnxruntime-node')
  ort.env.logLevel = 'error'
  return {
    async load(manifest, files) {
      if (manifest.format !== 'onnx') {
        throw new AgentError('E_ENGINE_UNSUPPORTED', `${modelId(manifest)}: the bridge scores "onnx" models only`)
      }
      const bytes = files.get(manifest.entry)
      if (bytes === undefined) throw new AgentError('E_FILE_MISSING', `${modelId(manifest)}: ${manifest.entry}`)
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          // The event loop, Kafka clients and other models share the cores: one thread per run.
          intraOpNumThreads: options.intraOpThreads,
          interOpNumThreads: 1,
        })
        return new NativeSession(ort, session)
      } catch (e) {
        throw new AgentError('E_ENGINE_LOAD', `${modelId(manifest)}: ${(e as Error).message}`)
      }
    },
  }
}

/** ONNX Runtime's native Run is thread-safe: concurrent runs of one session need no queue. */
class NativeSession implements EngineSession {
  constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
  ) {}

  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorOutput>> {
    return runOrtSession(this.ort, this.session, feeds)
  }

  dispose(): Promise<void> {
    return this.session.release()
  }
}
