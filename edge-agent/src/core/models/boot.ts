/**
 * Offline boot, from disk only: the persisted current model, else the
 * previous one, else the model bundled with the agent. Each model is
 * re-checked (sizes, SHA-256, golden vectors) before it may serve.
 */

import type { Engines } from '../engines/engine.ts'
import { type AgentErrorCode, toAgentError } from '../errors.ts'
import { loadVerified } from './candidate.ts'
import type { LoadedModel } from './loaded.ts'
import { modelDir, type SlotState, type Slots, type StoredModel } from './slots.ts'

export type BootSource = 'current' | 'previous' | 'bundled' | 'none'

export interface Failure {
  name: string
  version: number
  code: AgentErrorCode
  message: string
}

export async function bootModel(
  state: SlotState,
  slots: Slots,
  engines: Engines,
  bundled: (() => Promise<StoredModel>) | undefined,
): Promise<{ model: LoadedModel | undefined; source: BootSource; fallbacks: Failure[] }> {
  const fallbacks: Failure[] = []
  for (const slot of ['current', 'previous'] as const) {
    const ref = state[slot]
    if (ref === null) continue
    try {
      return {
        model: await loadVerified(await slots.readModel(modelDir(ref)), engines, 'installed'),
        source: slot,
        fallbacks,
      }
    } catch (e) {
      const error = toAgentError(e, 'E_STORE')
      fallbacks.push({ ...ref, code: error.code, message: error.message })
    }
  }
  if (bundled !== undefined) {
    try {
      return { model: await loadVerified(await bundled(), engines, 'bundled'), source: 'bundled', fallbacks }
    } catch (e) {
      const error = toAgentError(e)
      fallbacks.push({ name: 'bundled', version: 0, code: error.code, message: error.message })
    }
  }
  return { model: undefined, source: 'none', fallbacks }
}
