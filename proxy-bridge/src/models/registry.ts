import { EventEmitter } from 'node:events'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import type { FastifyBaseLogger } from 'fastify'
import type { LogRecord } from '../kafka/log-reader.ts'
import { TopicFollower } from '../kafka/topic-follower.ts'
import type { BridgeError } from '../errors.ts'
import { checkManifest, type SigningKeys } from './manifest-check.ts'
import { decodeModelState, type ModelState } from './model-state.ts'

export interface RegistryOptions {
  brokers: string[]
  clientId: string
  topic: string
  /** Manifests that do not verify with these are dropped: a bridge never serves them. */
  keys: SigningKeys | undefined
  log?: FastifyBaseLogger | undefined
}

/**
 * Every model's state, read from the compacted edge.models topic into
 * memory. Emits `change` (name, state) after each new record. With signing
 * keys, a version whose manifest fails its shape or signature check is
 * removed from the state before anyone sees it.
 */
export class ModelRegistry extends EventEmitter<{ change: [name: string, state: ModelState] }> {
  readonly #states = new Map<string, ModelState>()
  readonly #follower: TopicFollower
  readonly #options: RegistryOptions
  #ready = false

  constructor(options: RegistryOptions) {
    super()
    this.setMaxListeners(0)
    this.#options = options
    this.#follower = new TopicFollower(options.brokers, `${options.clientId}-models`, options.topic, (m) =>
      this.#apply(m),
    )
  }

  async start(timeoutMs?: number): Promise<void> {
    await this.#follower.start()
    await this.#follower.caughtUp(timeoutMs)
    this.#ready = true
  }

  /** True once the topic was read up to where it stood at start. */
  get ready(): boolean {
    return this.#ready
  }

  /** Resolves once every state committed before this call is applied. */
  caughtUp(timeoutMs?: number): Promise<void> {
    return this.#follower.caughtUp(timeoutMs)
  }

  get(name: string): ModelState | undefined {
    return this.#states.get(name)
  }

  all(): ModelState[] {
    return [...this.#states.values()]
  }

  #apply(message: LogRecord): void {
    const name = message.key?.toString('utf8')
    if (!name) return
    const decoded = decodeModelState(message.value)
    if (!decoded) {
      if (!message.value?.length) this.#states.delete(name)
      return
    }
    const state = this.#verified(decoded)
    this.#states.set(name, state)
    this.emit('change', name, state)
  }

  #verified(state: ModelState): ModelState {
    const keys = this.#options.keys
    if (!keys) return state
    const versions: Record<string, SignedModelManifest> = {}
    for (const [version, manifest] of Object.entries(state.versions)) {
      try {
        checkManifest(manifest, keys)
        if (String(manifest.version) !== version || manifest.name !== state.name) {
          throw new Error(`manifest ${manifest.name} v${manifest.version} filed under ${state.name} v${version}`)
        }
        versions[version] = manifest
      } catch (error) {
        this.#options.log?.error(
          { model: state.name, version, code: (error as BridgeError).code, err: (error as Error).message },
          'model manifest on Kafka refused; it is not served',
        )
      }
    }
    return { ...state, versions }
  }

  async close(): Promise<void> {
    await this.#follower.close()
  }
}
