/**
 * A model activates only if it reproduces its manifest's golden vectors in
 * this runtime, within the manifest's tolerance (rule in models/README.md).
 */

import { withinTolerance } from '@kafka-edge/models/golden'
import type { EngineSession } from '../engines/engine.ts'
import { AgentError, toAgentError } from '../errors.ts'
import { inputToTensors } from './features.ts'
import { type ModelManifest, modelId } from './manifest.ts'

/** Runs every golden vector; throws E_GOLDEN_MISMATCH naming the first that fails. */
export async function checkGoldenVectors(manifest: ModelManifest, session: EngineSession): Promise<void> {
  const id = modelId(manifest)
  const { tolerance, vectors } = manifest.golden
  for (const [i, vector] of vectors.entries()) {
    let outputs: Awaited<ReturnType<EngineSession['run']>>
    try {
      outputs = await session.run(inputToTensors(manifest, vector.input))
    } catch (e) {
      throw new AgentError('E_GOLDEN_MISMATCH', `${id}: golden vector ${i} failed to run: ${toAgentError(e).detail}`)
    }
    for (const [name, expected] of Object.entries(vector.output)) {
      const actual = outputs[name]
      if (actual === undefined)
        throw new AgentError('E_GOLDEN_MISMATCH', `${id}: golden vector ${i}: no output "${name}"`)
      const check = withinTolerance(actual.data, expected, tolerance)
      if (!check.ok)
        throw new AgentError(
          'E_GOLDEN_MISMATCH',
          `${id}: golden vector ${i}, output "${name}": ${check.message ?? ''} (tolerance ${tolerance})`,
        )
    }
  }
}
