import { EventEmitter } from 'node:events'
import type { ModelStatusState } from '@kafka-edge/edge-agent/protocol'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import type { LogRecord } from '../kafka/log-reader.ts'
import { TopicFollower } from '../kafka/topic-follower.ts'

/** One record on edge.fleet (key = device id). docs/models.md, "Fleet events". */
export interface FleetEvent {
  v: 1
  type: 'model-status'
  deviceId: string
  model: string
  version: number
  state: ModelStatusState
  reason?: string
  /** Every model the device runs after this event: name → version. */
  running?: Record<string, number>
  /** ms since the epoch, when the bridge received it. */
  at: number
  bridge: string
}

export type StateCounts = Record<ModelStatusState, number>

export interface FleetSummary {
  /** Devices that reported on this model at all. */
  devices: number
  /** By the version of each device's latest report: how many are in each state. */
  versions: Record<string, StateCounts>
}

interface LatestReport {
  version: number
  state: ModelStatusState
  at: number
}

const emptyCounts = (): StateCounts => ({ activated: 0, rejected: 0, 'rolled-back': 0 })

/**
 * The latest report of each device for each model, and the version each
 * device runs. Pure: the bridge feeds it from edge.fleet, the CLI too.
 */
export class FleetCounts {
  readonly #latest = new Map<string, Map<string, LatestReport>>()
  readonly #running = new Map<string, Map<string, number>>()
  /** model → version → states of the devices whose latest report is about it; kept as reports arrive. */
  readonly #counts = new Map<string, Map<string, StateCounts>>()

  apply(event: FleetEvent): void {
    let devices = this.#latest.get(event.model)
    if (!devices) {
      devices = new Map()
      this.#latest.set(event.model, devices)
    }
    const previous = devices.get(event.deviceId)
    if (previous && previous.at > event.at) return
    if (previous) this.#count(event.model, previous, -1)
    const latest = { version: event.version, state: event.state, at: event.at }
    devices.set(event.deviceId, latest)
    this.#count(event.model, latest, 1)
    let running = this.#running.get(event.deviceId)
    if (!running) {
      running = new Map()
      this.#running.set(event.deviceId, running)
    }
    if (event.running) {
      for (const [model, version] of Object.entries(event.running)) running.set(model, version)
    } else if (event.state === 'activated') {
      running.set(event.model, event.version)
    } else if (running.get(event.model) === event.version) {
      running.delete(event.model)
    }
  }

  running(deviceId: string, model: string): number | undefined {
    return this.#running.get(deviceId)?.get(model)
  }

  #count(model: string, report: LatestReport, delta: 1 | -1): void {
    let versions = this.#counts.get(model)
    if (!versions) {
      versions = new Map()
      this.#counts.set(model, versions)
    }
    const key = String(report.version)
    const counts = versions.get(key) ?? emptyCounts()
    counts[report.state] += delta
    if (counts.activated + counts.rejected + counts['rolled-back'] === 0) versions.delete(key)
    else versions.set(key, counts)
  }

  summary(model: string): FleetSummary {
    const versions: Record<string, StateCounts> = {}
    for (const [key, counts] of this.#counts.get(model) ?? []) versions[key] = { ...counts }
    return { devices: this.#latest.get(model)?.size ?? 0, versions }
  }

  /** Devices whose latest report is about `version`, and how many of them rejected or rolled it back. */
  outcome(model: string, version: number): { total: number; failed: number } {
    // Called on every fleet event during a rollout: a lookup, not a walk over the fleet.
    const counts = this.#counts.get(model)?.get(String(version)) ?? emptyCounts()
    const failed = counts.rejected + counts['rolled-back']
    return { total: failed + counts.activated, failed }
  }
}

export function decodeFleetEvent(value: Buffer | null | undefined): FleetEvent | undefined {
  if (!value?.length) return undefined
  try {
    const event = JSON.parse(value.toString('utf8')) as FleetEvent
    if (event.v !== 1 || event.type !== 'model-status' || typeof event.model !== 'string') return undefined
    if (typeof event.deviceId !== 'string' || !Number.isSafeInteger(event.version)) return undefined
    return event
  } catch {
    return undefined
  }
}

/** Follows edge.fleet from its earliest retained record; emits `event` for each. */
export class FleetView extends EventEmitter<{ event: [FleetEvent] }> {
  readonly counts = new FleetCounts()
  readonly #follower: TopicFollower

  constructor(brokers: string[], clientId: string, topic: string) {
    super()
    this.setMaxListeners(0)
    this.#follower = new TopicFollower(brokers, `${clientId}-fleet`, topic, (m) => this.#apply(m))
  }

  #apply(message: LogRecord): void {
    const event = decodeFleetEvent(message.value)
    if (!event) return
    this.counts.apply(event)
    this.emit('event', event)
  }

  async start(): Promise<void> {
    await this.#follower.start()
    await this.#follower.caughtUp()
  }

  caughtUp(timeoutMs?: number): Promise<void> {
    return this.#follower.caughtUp(timeoutMs)
  }

  close(): Promise<void> {
    return this.#follower.close()
  }
}

/**
 * Writes device reports to edge.fleet (idempotent producer, acks=all, key =
 * device id). Reports queue and go out one request at a time, all queued ones
 * together: concurrent first sends of a fresh idempotent producer can race
 * its producer-id initialisation, and one request per burst is cheaper anyway.
 */
export class FleetWriter {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #topic: string
  #queue: { event: FleetEvent; resolve(): void; reject(error: unknown): void }[] = []
  #flushing = false

  constructor(brokers: string[], clientId: string, topic: string) {
    this.#topic = topic
    this.#producer = new Producer({
      clientId: `${clientId}-fleet`,
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: 3,
      retryDelay: 100,
    })
  }

  write(event: FleetEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject })
      if (!this.#flushing) void this.#flush()
    })
  }

  async #flush(): Promise<void> {
    this.#flushing = true
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, 500)
      try {
        await this.#producer.send({
          messages: batch.map(({ event }) => ({
            topic: this.#topic,
            key: Buffer.from(event.deviceId),
            value: Buffer.from(JSON.stringify(event), 'utf8'),
          })),
        })
        for (const item of batch) item.resolve()
      } catch (error) {
        for (const item of batch) item.reject(error)
      }
    }
    this.#flushing = false
  }

  close(): Promise<void> {
    return this.#producer.close()
  }
}
