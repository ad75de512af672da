import { createHash, verify } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { Engine } from '@kafka-edge/edge-agent/engines/engine'
import { type AgentError, type AgentErrorCode, toAgentError } from '@kafka-edge/edge-agent/errors'
import { inputToTensors } from '@kafka-edge/edge-agent/models/features'
import { checkGoldenVectors } from '@kafka-edge/edge-agent/models/golden'
import { LoadedModel } from '@kafka-edge/edge-agent/models/loaded'
import { modelId, parseManifest } from '@kafka-edge/edge-agent/models/manifest'
import type { NamedOutputs } from '@kafka-edge/edge-agent/models/outputs'
import { verifyFile, verifyNotExpired } from '@kafka-edge/edge-agent/models/verify'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import type { FastifyBaseLogger } from 'fastify'
import { BridgeError } from '../errors.ts'
import type { ModelDistribution } from '../models/distribution.ts'
import type { ModelState } from '../models/model-state.ts'

/** A model version that cannot serve: its code says why (the agent's, e.g. E_GOLDEN_MISMATCH). */
export class ModelNotLoadable extends BridgeError {
  constructor(
    readonly reason: AgentErrorCode,
    message: string,
    retryAfterMs: number,
  ) {
    super(ErrorCodes.MODEL_NOT_LOADABLE, message, { retryable: true, retryAfterMs })
  }
}

/** The codes of the agent's input checks, passed through to the HTTP caller unchanged. */
const inputCodes = new Set<string>([
  ErrorCodes.INPUT_INVALID,
  ErrorCodes.FEATURE_MISSING,
  ErrorCodes.FEATURE_UNKNOWN,
  ErrorCodes.FEATURE_TYPE,
  ErrorCodes.FEATURE_SHAPE,
  ErrorCodes.INPUT_NAN,
  ErrorCodes.OUTPUT_NONFINITE,
])

interface Failure {
  reason: AgentErrorCode
  message: string
  retryAt: number
}

/** What a device checks before activating a model, minus the version history (a bridge serves every version). */
const nodeCrypto = {
  sha256: async (data: Uint8Array) => createHash('sha256').update(data).digest('hex'),
  verifyEd25519: async (spki: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
    try {
      return verify(null, message, { key: Buffer.from(spki), format: 'der', type: 'spki' }, signature)
    } catch {
      return false
    }
  },
}

export interface ScoringModelsOptions {
  models: ModelDistribution
  engine: () => Promise<Engine>
  /** A failed version is tried again after this long (a load can fail for passing reasons: memory, disk). */
  retryFailedMs: number
  log: FastifyBaseLogger
}

/**
 * The model-server side of scoring: one loaded session per (name, version),
 * created on the first request and shared by every request after it. A
 * version is loaded only from the bridge's verified file cache, its files
 * re-hashed against the signed manifest, and it must reproduce its golden
 * vectors, exactly as on a device. A version that fails to load, fails its
 * golden vectors, or throws while running is marked failed with the reason
 * and retired; other versions and models keep serving.
 */
export class ScoringModels {
  readonly #instances = new Map<string, Promise<LoadedModel>>()
  readonly #failed = new Map<string, Failure>()
  readonly #options: ScoringModelsOptions
  readonly #onChange = (name: string, state: ModelState) => this.#dropRemoved(name, state)

  constructor(options: ScoringModelsOptions) {
    this.#options = options
    options.models.registry.on('change', this.#onChange)
  }

  /** Named outputs for each input, in order. Throws BridgeError. */
  async predict(
    manifest: SignedModelManifest,
    inputs: unknown[],
    label: (i: number) => string,
  ): Promise<NamedOutputs[]> {
    const id = modelId(manifest)
    const model = await this.#acquire(manifest)
    // Every input is checked before any runs: a bad one refuses the whole request.
    for (const [i, input] of inputs.entries()) {
      try {
        inputToTensors(model.manifest, input)
      } catch (error) {
        throw asBridgeError(error, label(i))
      }
    }
    try {
      return await Promise.all(inputs.map((input) => model.predict(input)))
    } catch (error) {
      const agentError = toAgentError(error, 'E_INFERENCE')
      if (!inputCodes.has(agentError.code)) this.#fail(id, agentError, model)
      throw asBridgeError(agentError, undefined)
    }
  }

  /** Ids of loaded versions and of failed ones with their reason (for logs and tests). */
  status(): { loaded: string[]; failed: Record<string, string> } {
    return {
      loaded: [...this.#instances.keys()],
      failed: Object.fromEntries([...this.#failed].map(([id, f]) => [id, f.reason])),
    }
  }

  #acquire(manifest: SignedModelManifest): Promise<LoadedModel> {
    const id = modelId(manifest)
    const failure = this.#failed.get(id)
    if (failure && failure.retryAt > Date.now()) {
      return Promise.reject(new ModelNotLoadable(failure.reason, failure.message, failure.retryAt - Date.now()))
    }
    let instance = this.#instances.get(id)
    if (instance === undefined) {
      const loading = this.#load(manifest)
      instance = loading
      this.#instances.set(id, loading)
      loading.then(
        () => this.#failed.delete(id),
        (error: unknown) => {
          if (this.#instances.get(id) === loading) this.#instances.delete(id)
          if (error instanceof ModelNotLoadable) {
            this.#failed.set(id, {
              reason: error.reason,
              message: error.message,
              retryAt: Date.now() + this.#options.retryFailedMs,
            })
          }
        },
      )
    }
    return instance
  }

  async #load(manifest: SignedModelManifest): Promise<LoadedModel> {
    const id = modelId(manifest)
    const cache = this.#options.models.cache
    // Files not verified yet are a passing state (409, retry), not a failure of the model.
    const paths = manifest.files.map((file) => {
      const status = cache.status(manifest.name, manifest.version, file)
      if (!status.verified) {
        throw new BridgeError(
          ErrorCodes.MODEL_FILE_UNVERIFIED,
          `${id} ${file.path} is not verified on this bridge yet: ${status.reason}`,
          { retryable: true, retryAfterMs: 1000 },
        )
      }
      return [file.path, status.path] as const
    })
    const started = performance.now()
    try {
      const parsed = parseManifest(manifest)
      verifyNotExpired(parsed, Date.now())
      const files = new Map<string, Uint8Array>()
      for (const [path, blob] of paths) {
        const bytes = await readFile(blob)
        await verifyFile(parsed, path, bytes, nodeCrypto)
        files.set(path, bytes)
      }
      const session = await (await this.#options.engine()).load(parsed, files)
      try {
        await checkGoldenVectors(parsed, session)
      } catch (error) {
        await session.dispose().catch(() => undefined)
        throw error
      }
      this.#options.log.info(
        { model: id, ms: Math.round(performance.now() - started) },
        'model loaded for server-side scoring',
      )
      return new LoadedModel(parsed, session, 'installed')
    } catch (error) {
      const agentError = toAgentError(error, 'E_ENGINE_LOAD')
      this.#options.log.error({ model: id, reason: agentError.code, err: agentError.message }, 'model not loadable')
      throw new ModelNotLoadable(
        agentError.code,
        `${id} cannot serve (${agentError.code}): ${agentError.detail}`,
        this.#options.retryFailedMs,
      )
    }
  }

  #fail(id: string, error: AgentError, model: LoadedModel): void {
    if (this.#failed.has(id)) return
    this.#options.log.error(
      { model: id, reason: error.code, err: error.message },
      'model failed while scoring; retired',
    )
    this.#failed.set(id, {
      reason: error.code,
      message: `${id} failed while scoring (${error.code}): ${error.detail}`,
      retryAt: Date.now() + this.#options.retryFailedMs,
    })
    this.#instances.delete(id)
    model.retire()
  }

  /** Versions dropped from the registry are unloaded. */
  #dropRemoved(name: string, state: ModelState): void {
    for (const [id, instance] of this.#instances) {
      const at = id.lastIndexOf('@')
      if (id.slice(0, at) !== name || Object.hasOwn(state.versions, id.slice(at + 1))) continue
      this.#instances.delete(id)
      instance.then((m) => m.retire()).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    this.#options.models.registry.off('change', this.#onChange)
    const instances = [...this.#instances.values()]
    this.#instances.clear()
    await Promise.allSettled(instances.map(async (i) => (await i).retire()))
  }
}

function asBridgeError(error: unknown, label: string | undefined): BridgeError {
  if (error instanceof BridgeError) return error
  const agentError = toAgentError(error, 'E_INFERENCE')
  const code = Object.values(ErrorCodes).find((c) => c === agentError.code) ?? ErrorCodes.INFERENCE
  return new BridgeError(code, label ? `${label}: ${agentError.message}` : agentError.message)
}
