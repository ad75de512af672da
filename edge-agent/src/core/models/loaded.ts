/**
 * A model loaded in a session and ready to serve. Predictions hold it while
 * they run, so a swap or rollback never disposes a session under a
 * prediction in flight: a retired model is disposed when the last one ends.
 */

import type { EngineSession } from '../engines/engine.ts'
import { inputToTensors } from './features.ts'
import type { ModelManifest } from './manifest.ts'
import { type NamedOutputs, nameOutputs } from './outputs.ts'
import type { ModelRef } from './slots.ts'

export type ModelOrigin = 'installed' | 'bundled'

export class LoadedModel {
  #inFlight = 0
  #retired = false
  #disposed: Promise<void> | undefined

  constructor(
    readonly manifest: ModelManifest,
    readonly session: EngineSession,
    readonly origin: ModelOrigin,
  ) {}

  get ref(): ModelRef {
    return { name: this.manifest.name, version: this.manifest.version }
  }

  /** Validates the input, runs it and names the outputs. Throws AgentError. */
  async predict(input: unknown): Promise<NamedOutputs> {
    const feeds = inputToTensors(this.manifest, input)
    this.#inFlight++
    try {
      return nameOutputs(this.manifest, await this.session.run(feeds))
    } finally {
      this.#inFlight--
      if (this.#retired && this.#inFlight === 0) void this.#dispose()
    }
  }

  /** No new predictions will come; dispose once those in flight end. */
  retire(): void {
    this.#retired = true
    if (this.#inFlight === 0) void this.#dispose()
  }

  #dispose(): Promise<void> {
    this.#disposed ??= this.session.dispose().catch(() => undefined)
    return this.#disposed
  }
}
