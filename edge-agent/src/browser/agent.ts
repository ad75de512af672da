/// <reference lib="dom" />
/**
 * The agent wired to a browser: IndexedDB store, WebCrypto, fetch, and
 * onnxruntime-web fetching its .wasm from beside the bundle (same origin).
 */

import { Agent, type ShadowOptions } from '../core/agent.ts'
import { bundledModel } from '../core/bundled-model.ts'
import { createFetchDownloader } from '../core/fetch-downloader.ts'
import { parseTrustedKeys } from '../core/models/keys.ts'
import type { ProbationLimits } from '../core/models/probation.ts'
import type { StoredModel } from '../core/models/slots.ts'
import { webCrypto } from './crypto.ts'
import { IndexedDbModelStore } from './store.ts'
import { systemClock } from '../core/link/clock.ts'

export { Agent } from '../core/agent.ts'
export { AgentError } from '../core/errors.ts'

export interface BrowserAgentOptions {
  /** keyId -> Ed25519 public key (PEM or base64). */
  publicKeys: Record<string, string>
  databaseName?: string
  threads?: number
  probation?: Partial<ProbationLimits>
  shadow?: ShadowOptions
  /** Refuse candidates of other model names (one agent per model). */
  modelName?: string
  /** The last fallback of an offline boot (default: the bundled wine model); false for none. */
  bundledModel?: (() => Promise<StoredModel>) | false
  /** Extra headers per download URL, e.g. the device token for the bridge's model endpoints. */
  downloadHeaders?: (url: string) => Record<string, string>
}

export async function createBrowserAgent(options: BrowserAgentOptions): Promise<Agent> {
  const cores = navigator.hardwareConcurrency ?? 1
  const agent = new Agent({
    store: await IndexedDbModelStore.open(options.databaseName),
    crypto: webCrypto,
    downloader: createFetchDownloader({
      fetch: globalThis.fetch.bind(globalThis),
      ...(options.downloadHeaders ? { headers: options.downloadHeaders } : {}),
    }),
    clock: systemClock,
    engines: {
      // Threads need cross-origin isolation (SharedArrayBuffer); without it the runtime uses one.
      threads:
        options.threads ?? (globalThis.crossOriginIsolated ? Math.min(4, Math.max(1, Math.floor(cores / 2))) : 1),
      onnxWasm: async () => ({}),
    },
    publicKeys: parseTrustedKeys(options.publicKeys),
    ...(options.bundledModel !== false ? { bundledModel: options.bundledModel ?? bundledModel } : {}),
    ...(options.modelName !== undefined ? { modelName: options.modelName } : {}),
    ...(options.probation ? { probation: options.probation } : {}),
    ...(options.shadow ? { shadow: options.shadow } : {}),
  })
  return agent
}
