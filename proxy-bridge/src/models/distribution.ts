import { ErrorCodes, type ModelStatusFrame, type ServerFrame } from '@kafka-edge/edge-agent/protocol'
import type { FastifyBaseLogger } from 'fastify'
import type { BridgeConfig } from '../config.ts'
import { BridgeError } from '../errors.ts'
import { ChunkCache } from './chunk-cache.ts'
import { assignedManifest, type DeviceRef } from './cohort.ts'
import { type FleetEvent, FleetView, FleetWriter } from './fleet.ts'
import { signingKeyMap } from './manifest-check.ts'
import { manifestEtag, manifestOf, manifestUrl, type ModelState, withRolloutState } from './model-state.ts'
import { ModelRegistry } from './registry.ts'
import { ConcurrentUpdateError, changeModelState } from './state-writer.ts'

/** What a WebSocket session offers the model side: who it is, and a way to push a frame. */
export interface ModelPushTarget {
  readonly deviceId: string | undefined
  readonly groups: readonly string[]
  send(frame: ServerFrame): void
}

/** Called by device sessions (IngestContext.models). */
export interface ModelSessionHooks {
  /** After welcome: the device learns the version of every model assigned to it. */
  welcomed(session: ModelPushTarget): void
  /** A model-status frame: written to edge.fleet. */
  status(device: DeviceRef, frame: ModelStatusFrame): Promise<void>
}

export interface DistributionOptions {
  config: BridgeConfig
  bridgeId: string
  log: FastifyBaseLogger
  /** This bridge's sessions by device id (WsSessions.sessions), read when pushing. */
  sessions: () => Iterable<ModelPushTarget>
}

/**
 * Signed model distribution on one bridge: the registry of model states,
 * the verified file cache, fleet reports and their abort criteria, and the
 * `model` frames pushed to connected devices when what they should run changes.
 */
export class ModelDistribution implements ModelSessionHooks {
  readonly registry: ModelRegistry
  readonly cache: ChunkCache
  readonly fleet: FleetView
  readonly config: BridgeConfig
  readonly #fleetWriter: FleetWriter
  readonly #options: DistributionOptions
  /** Version last pushed to each session, per model. */
  readonly #pushed = new WeakMap<ModelPushTarget, Map<string, number>>()
  readonly #pausing = new Set<string>()
  #started: Promise<void> | undefined
  #live = false

  constructor(options: DistributionOptions) {
    this.#options = options
    this.config = options.config
    const { config, log } = options
    const { brokers, clientId } = config.kafka
    const keys = signingKeyMap(config.models.signingKeys)
    if (keys.size === 0) log.warn('no model signing keys configured (models.signingKeys): no model is served')
    this.registry = new ModelRegistry({ brokers, clientId, topic: config.topics.models, keys, log })
    this.cache = new ChunkCache({
      brokers,
      clientId,
      topic: config.topics.modelChunks,
      dir: config.models.cacheDir,
      bridgeId: options.bridgeId,
      registry: this.registry,
      log,
      // A version is offered to devices only once this bridge can serve all its files.
      onVerified: (name) => {
        const state = this.registry.get(name)
        if (state && this.#live) this.#push(state)
      },
    })
    this.fleet = new FleetView(brokers, clientId, config.topics.fleet)
    this.#fleetWriter = new FleetWriter(brokers, clientId, config.topics.fleet)
    this.registry.on('change', (_name, state) => {
      if (this.#live) this.#push(state)
    })
    this.fleet.on('event', (event) => {
      if (this.#live) this.#checkAbortCriteria(event.model)
    })
  }

  /**
   * Reads models and fleet from Kafka (retrying while Kafka is away), then
   * fills the file cache in the background: files answer 409 until verified.
   */
  start(stopped: () => boolean = () => false): Promise<void> {
    this.#started ??= (async () => {
      for (;;) {
        if (stopped()) return
        try {
          await Promise.all([this.registry.start(), this.fleet.start()])
          break
        } catch (error) {
          this.#options.log.warn({ err: error }, 'cannot read models from Kafka yet; retrying')
          await new Promise((r) => setTimeout(r, 1000))
        }
      }
      this.#live = true
      for (const state of this.registry.all()) this.#checkAbortCriteria(state.name)
      this.cache.start().catch((error: unknown) => {
        // A bridge shutting down while the cache starts is not an error worth a stack.
        if (stopped()) return
        this.#options.log.error({ err: error }, 'model file cache failed to start')
      })
    })()
    return this.#started
  }

  get ready(): boolean {
    return this.#live
  }

  running = (deviceId: string, model: string): number | undefined => this.fleet.counts.running(deviceId, model)

  /** The state, or E_MODEL_UNKNOWN. */
  state(name: string): ModelState {
    if (!this.#live) {
      throw new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'the bridge is still reading the model registry from Kafka', {
        retryable: true,
        retryAfterMs: 1000,
      })
    }
    const state = this.registry.get(name)
    if (!state || Object.keys(state.versions).length === 0) {
      throw new BridgeError(ErrorCodes.MODEL_UNKNOWN, `no model named "${name}" is published`)
    }
    return state
  }

  welcomed(session: ModelPushTarget): void {
    if (!this.#live) return
    for (const state of this.registry.all()) this.#pushOne(session, state)
  }

  async status(device: DeviceRef, frame: ModelStatusFrame): Promise<void> {
    const state = this.state(frame.name)
    if (frame.version > state.latest) {
      throw new BridgeError(
        ErrorCodes.MODEL_UNKNOWN,
        `model ${frame.name} has no version ${frame.version} (newest: ${state.latest})`,
      )
    }
    const event: FleetEvent = {
      v: 1,
      type: 'model-status',
      deviceId: device.deviceId,
      model: frame.name,
      version: frame.version,
      state: frame.state,
      ...(frame.reason !== undefined ? { reason: frame.reason } : {}),
      ...(frame.running !== undefined ? { running: frame.running } : {}),
      at: Date.now(),
      bridge: this.#options.bridgeId,
    }
    try {
      await this.#fleetWriter.write(event)
    } catch (error) {
      throw new BridgeError(
        ErrorCodes.KAFKA_UNAVAILABLE,
        `cannot write the report to Kafka: ${(error as Error).message}`,
        {
          retryable: true,
          retryAfterMs: 1000,
        },
      )
    }
  }

  #push(state: ModelState): void {
    for (const session of this.#options.sessions()) this.#pushOne(session, state)
  }

  #pushOne(session: ModelPushTarget, state: ModelState): void {
    const deviceId = session.deviceId
    if (!deviceId) return
    const manifest = assignedManifest(state, { deviceId, groups: session.groups }, this.running)
    if (!manifest) return
    let pushed = this.#pushed.get(session)
    if (!pushed) {
      pushed = new Map()
      this.#pushed.set(session, pushed)
    }
    if (pushed.get(state.name) === manifest.version) return
    // Not before every file is verified here: a device would get 409 and retry.
    if (!manifest.files.every((file) => this.cache.status(state.name, manifest.version, file).verified)) return
    pushed.set(state.name, manifest.version)
    session.send({
      type: 'model',
      name: state.name,
      version: manifest.version,
      manifestUrl: manifestUrl(state.name),
      etag: manifestEtag(manifest),
    })
  }

  /**
   * AWS IoT Jobs style abort criteria: once at least minDevices devices
   * reported on the rolling version and more than failureRatio of them
   * rejected or rolled it back, the rollout pauses itself with the reason.
   * Every bridge may do this; the state writer's fencing and the re-check
   * make it happen once.
   */
  #checkAbortCriteria(name: string): void {
    const { config, log } = this.#options
    if (!config.models.autoPause) return
    const state = this.registry.get(name)
    const rollout = state?.rollout
    if (!state || !rollout || rollout.state !== 'rolling') return
    const criteria = manifestOf(state, rollout.version)?.rollout?.abort ?? config.models.abort
    const { total, failed } = this.fleet.counts.outcome(name, rollout.version)
    if (total < criteria.minDevices || failed / total <= criteria.failureRatio) return
    const key = `${name}/${rollout.version}`
    if (this.#pausing.has(key)) return
    this.#pausing.add(key)
    const reason = `abort criteria met: ${failed} of ${total} devices (${Math.round((100 * failed) / total)} %) rejected or rolled back v${rollout.version}; the threshold is ${Math.round(criteria.failureRatio * 100)} % after ${criteria.minDevices} devices`
    changeModelState(
      {
        brokers: config.kafka.brokers,
        clientId: config.kafka.clientId,
        modelsTopic: config.topics.models,
        read: async (model) => {
          await this.registry.caughtUp()
          return this.registry.get(model)
        },
      },
      name,
      async ({ current }) => {
        const still = current?.rollout?.version === rollout.version && current.rollout.state === 'rolling'
        return { state: still && current ? withRolloutState(current, 'paused', reason) : undefined, result: still }
      },
    )
      .then((paused) => {
        if (paused) log.warn({ model: name, version: rollout.version, reason }, 'rollout paused by its abort criteria')
      })
      .catch((error: unknown) => {
        if (!(error instanceof ConcurrentUpdateError)) log.error({ err: error, model: name }, 'could not pause rollout')
      })
      .finally(() => this.#pausing.delete(key))
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.cache.close(), this.registry.close(), this.fleet.close(), this.#fleetWriter.close()])
  }
}
