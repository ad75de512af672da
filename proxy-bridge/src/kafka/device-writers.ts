import { DeviceWriter, type DeviceWriterContext } from './device-writer.ts'
import { partitionOf } from './device-state.ts'
import { Fencer } from './fencer.ts'
import type { DeviceStateView } from './state-view.ts'
import { stuckTransactions } from './stuck-transactions.ts'
import { type LaneOptions, TransactionLane, transactionalProducer } from './transaction-lane.ts'

export interface DeviceWritersOptions extends LaneOptions {
  transactionalIdPrefix: string
  bridgeId: string
  statePartitions: number
  /** Transactional producers this bridge writes through; a device always uses the same one. */
  lanes: number
  /** A writer outlives its last user this long, so a quick reconnect does not pay for a new claim. */
  idleMs: number
  view: DeviceStateView
  /** Called per round of fences (Fencer) with the number of transactional ids fenced: for metrics. */
  onFence?: (ids: number) => void
}

interface Entry {
  writer: DeviceWriter
  users: number
  idleTimer: NodeJS.Timeout | undefined
}

/**
 * The device writers of this bridge, one per device with a session or a REST
 * call in progress, and the lanes (transactional producers) they share. A
 * failed writer is replaced by a new one, which claims the device again.
 */
export class DeviceWriters {
  readonly #entries = new Map<string, Entry>()
  readonly #options: DeviceWritersOptions
  readonly #lanes: DeviceWriterContext[]
  readonly #laneIds: Set<string>
  readonly #fencer: Fencer

  constructor(options: DeviceWritersOptions) {
    this.#options = options
    // Per bridge process: two live bridges never share a transactional id, so
    // they fence each other only when a device moves between them.
    this.#lanes = Array.from({ length: options.lanes }, (_, i) => ({
      lane: new TransactionLane(`${options.transactionalIdPrefix}-${options.bridgeId}-${i}`, options),
      view: options.view,
      bridgeId: options.bridgeId,
      fence: (ids) => this.#fence(ids),
      fenceStuck: (partition) => this.#fenceStuck(partition),
    }))
    this.#laneIds = new Set(this.#lanes.map(({ lane }) => lane.transactionalId))
    this.#fencer = new Fencer((id) => fenceTransactionalId(id, options), { onRound: options.onFence })
  }

  /** The device's writer, for use until `release`. */
  acquire(deviceId: string): DeviceWriter {
    let entry = this.#entries.get(deviceId)
    if (entry?.writer.failure) {
      this.#drop(deviceId, entry)
      entry = undefined
    }
    if (!entry) {
      entry = { writer: this.#newWriter(deviceId), users: 0, idleTimer: undefined }
      this.#entries.set(deviceId, entry)
    }
    clearTimeout(entry.idleTimer)
    entry.idleTimer = undefined
    entry.users++
    return entry.writer
  }

  #newWriter(deviceId: string): DeviceWriter {
    const lane = this.#lanes[partitionOf(deviceId, this.#lanes.length)] as DeviceWriterContext
    return new DeviceWriter(deviceId, partitionOf(deviceId, this.#options.statePartitions), lane)
  }

  /**
   * Takes each transactional id over and lets it go: Kafka aborts what its
   * holder left open and refuses its next write. This bridge's own lanes are
   * never fenced. Resolves with whether any id was.
   */
  async #fence(transactionalIds: readonly string[]): Promise<boolean> {
    const others = transactionalIds.filter((id) => !this.#laneIds.has(id))
    await this.#fencer.fence(others)
    return others.length > 0
  }

  /**
   * Fences the other bridges' lanes that hold a transaction stuck open on
   * this state partition: those that claimed a device there lately, and any
   * other lane Kafka lists as ongoing (its claims may be older than the
   * view's last 16 owners). When Kafka cannot say which are stuck, the recent
   * owners all.
   */
  async #fenceStuck(statePartition: number): Promise<boolean> {
    const { brokers, clientId, stateTopic, view, transactionalIdPrefix } = this.#options
    const others = view.partitionOwners(statePartition).filter((id) => !this.#laneIds.has(id))
    const stuck = await stuckTransactions(brokers, clientId, others, stateTopic, statePartition, {
      prefix: `${transactionalIdPrefix}-`,
    }).catch(() => others)
    return this.#fence(stuck)
  }

  /** The device's writer if this bridge has one (it may be idle). */
  peek(deviceId: string): DeviceWriter | undefined {
    const entry = this.#entries.get(deviceId)
    return entry && !entry.writer.failure ? entry.writer : undefined
  }

  release(writer: DeviceWriter): void {
    const entry = this.#entries.get(writer.deviceId)
    if (!entry || entry.writer !== writer) return
    entry.users--
    if (entry.users > 0) return
    if (writer.failure) {
      this.#drop(writer.deviceId, entry)
      return
    }
    entry.idleTimer = setTimeout(() => this.#drop(writer.deviceId, entry), this.#options.idleMs)
    entry.idleTimer.unref()
  }

  #drop(deviceId: string, entry: Entry): void {
    clearTimeout(entry.idleTimer)
    if (this.#entries.get(deviceId) === entry) this.#entries.delete(deviceId)
  }

  /** Resolves when no lane has a transaction queued or in flight (REST writes included). */
  async idle(): Promise<void> {
    await Promise.all(this.#lanes.map(({ lane }) => lane.idle()))
  }

  /** Waits for every in-flight transaction, then closes the producers. */
  async close(): Promise<void> {
    for (const entry of this.#entries.values()) clearTimeout(entry.idleTimer)
    this.#entries.clear()
    await Promise.all(this.#lanes.map(({ lane }) => lane.close()))
  }
}

/** Takes the id over and lets it go: InitProducerId bumps its epoch. */
async function fenceTransactionalId(transactionalId: string, options: LaneOptions): Promise<void> {
  const producer = transactionalProducer(transactionalId, options)
  try {
    const tx = await producer.beginTransaction()
    await tx.cancel()
  } finally {
    await producer.close().catch(() => {})
  }
}
