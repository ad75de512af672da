import type { DeliveredRecord } from '@kafka-edge/edge-agent/protocol/delivery'
import type { LogReader, LogRecord } from '../kafka/log-reader.ts'
import { toDelivered } from './delivered-record.ts'
import type { LiveReceiver, TopicFanout } from './topic-fanout.ts'

type Mode = 'catching-up' | 'live' | 'paused'

interface PartitionState {
  mode: Mode
  /** Next offset to look at for this device. */
  next: bigint
  /** Offsets delivered and not yet acked, in order. */
  unacked: bigint[]
}

export interface SubscriptionOptions {
  topic: string
  partitions: number
  addresses: Set<string>
  reader: LogReader
  fanout: TopicFanout
  /** Where to start per partition: the device's acked position, or a lookback. */
  start: Map<number, bigint>
  /** Most records delivered and not acked; beyond it the device is paused and later catches up from Kafka. */
  maxUnacked: number
  deliver(records: DeliveredRecord[]): void
}

/**
 * One device's subscription to one topic on this bridge. Each partition is either catching up (reading Kafka from the device's
 * position), live (fed by the topic's fan-out), or paused (too much unacked);
 * a paused partition catches up again from Kafka once acks arrive, so a slow
 * device costs the bridge at most `maxUnacked` records.
 */
export class DeviceSubscription implements LiveReceiver {
  readonly addresses: Set<string>
  readonly #options: SubscriptionOptions
  readonly #partitions = new Map<number, PartitionState>()
  #inFlight = 0
  #closed = false
  #batch: DeliveredRecord[] = []

  constructor(options: SubscriptionOptions) {
    this.#options = options
    this.addresses = options.addresses
    // Every partition: producers partition keys their own way (Java's murmur2,
    // librdkafka's CRC32, explicit partitions), so a device's records may be anywhere.
    for (let partition = 0; partition < options.partitions; partition++) {
      this.#partitions.set(partition, { mode: 'paused', next: options.start.get(partition) ?? 0n, unacked: [] })
    }
  }

  start(): void {
    for (const partition of this.#partitions.keys()) void this.#catchUp(partition)
  }

  async #catchUp(partition: number): Promise<void> {
    const state = this.#partitions.get(partition) as PartitionState
    if (state.mode === 'catching-up' || state.mode === 'live') return
    state.mode = 'catching-up'
    const { reader, topic, fanout } = this.#options
    while (!this.#closed) {
      if (this.#inFlight >= this.#options.maxUnacked) {
        state.mode = 'paused'
        return
      }
      let result
      try {
        result = (await reader.fetch(topic, new Map([[partition, state.next]]), { maxWaitMs: 0 })).get(partition)
      } catch {
        await new Promise((r) => setTimeout(r, 500))
        continue
      }
      if (this.#closed) return
      for (const record of result?.records ?? []) {
        if (!this.#addressed(record)) continue
        if (this.#inFlight >= this.#options.maxUnacked) break
        this.#deliver(state, record)
      }
      if (this.#inFlight < this.#options.maxUnacked && result) state.next = result.nextOffset
      // Same tick as the check: the fan-out cannot have moved past `next` in between.
      if (state.next >= fanout.position(partition)) {
        state.mode = 'live'
        fanout.join(this, partition, state.next)
        return
      }
    }
  }

  #addressed(record: LogRecord): boolean {
    const key = record.key?.toString('utf8')
    return key !== undefined && this.addresses.has(key)
  }

  #deliver(state: PartitionState, record: LogRecord, delivered = toDelivered(record)): void {
    state.unacked.push(record.offset)
    state.next = record.offset + 1n
    this.#inFlight++
    if (this.#batch.length === 0) queueMicrotask(() => this.#flush())
    this.#batch.push(delivered)
  }

  #flush(): void {
    const records = this.#batch
    this.#batch = []
    if (records.length > 0 && !this.#closed) this.#options.deliver(records)
  }

  receive(record: LogRecord, delivered: () => DeliveredRecord): boolean {
    const state = this.#partitions.get(record.partition)
    if (state?.mode !== 'live' || this.#closed) return false
    if (record.offset < state.next) return true
    if (this.#inFlight >= this.#options.maxUnacked) {
      state.mode = 'paused'
      return false
    }
    this.#deliver(state, record, delivered())
    return true
  }

  /** The device processed everything up to `offset`; returns the position to store (offset + 1). */
  ack(partition: number, offset: bigint): bigint | undefined {
    const state = this.#partitions.get(partition)
    if (!state) return undefined
    while (state.unacked.length > 0 && (state.unacked[0] as bigint) <= offset) {
      state.unacked.shift()
      this.#inFlight--
    }
    if (this.#inFlight <= this.#options.maxUnacked / 2) {
      for (const [p, s] of this.#partitions) if (s.mode === 'paused') void this.#catchUp(p)
    }
    return offset + 1n
  }

  close(): void {
    this.#closed = true
    for (const [partition, state] of this.#partitions) {
      if (state.mode === 'live') this.#options.fanout.leave(this, partition)
    }
  }
}
