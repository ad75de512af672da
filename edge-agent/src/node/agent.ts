/** The agent wired to Node: file store, node:crypto, fetch (undici), the bundled default model. */

import { Agent, type AgentOptions, type ShadowOptions } from '../core/agent.ts'
import { bundledModel } from '../core/bundled-model.ts'
import { createFetchDownloader } from '../core/fetch-downloader.ts'
import type { TrustedKeys } from '../core/models/keys.ts'
import type { ProbationLimits } from '../core/models/probation.ts'
import { systemClock } from '../core/link/clock.ts'
import { nodeCrypto } from './crypto.ts'
import { defaultThreads, nodeOnnxWasm } from './onnx-wasm.ts'
import { NodeModelStore } from './store.ts'

export interface NodeAgentOptions {
  dataDir: string
  publicKeys: TrustedKeys
  threads?: number | undefined
  modelName?: string | undefined
  probation?: Partial<ProbationLimits> | undefined
  shadow?: ShadowOptions | undefined
  /** Extra headers of model downloads by URL (the bridge's token, only for the bridge's URLs). */
  downloadHeaders?: ((url: string) => Record<string, string>) | undefined
  /** false: no bundled fallback (tests of the fallback chain). */
  bundled?: boolean
}

export async function createNodeAgent(options: NodeAgentOptions): Promise<Agent> {
  const store = new NodeModelStore(options.dataDir)
  await store.sweepTemporaries()
  const agentOptions: AgentOptions = {
    store,
    crypto: nodeCrypto,
    // Node's fetch is undici.
    downloader: createFetchDownloader({
      fetch: globalThis.fetch,
      ...(options.downloadHeaders ? { headers: options.downloadHeaders } : {}),
    }),
    clock: systemClock,
    engines: { threads: options.threads ?? defaultThreads(), onnxWasm: nodeOnnxWasm },
    publicKeys: options.publicKeys,
  }
  if (options.bundled !== false) agentOptions.bundledModel = bundledModel
  if (options.modelName !== undefined) agentOptions.modelName = options.modelName
  if (options.probation !== undefined) agentOptions.probation = options.probation
  if (options.shadow !== undefined) agentOptions.shadow = options.shadow
  return new Agent(agentOptions)
}
