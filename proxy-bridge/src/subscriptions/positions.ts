import type { MessageToProduce } from '@platformatic/kafka'
import { encodeState, type PositionsValue, partitionOf, positionsKey } from '../kafka/device-state.ts'

/**
 * Acked positions, written to the compacted device-state topic at most every
 * `flushMs` per device and topic, so a device resumes on any bridge after its
 * last acked record. Delivery is at-least-once: a crash loses at most the
 * positions of the last interval, whose records are then delivered again.
 */
export class PositionStore {
  readonly #send: (messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[]) => Promise<void>
  readonly #topic: string
  readonly #partitions: number
  readonly #flushMs: number
  readonly #dirty = new Map<string, PositionsValue>()
  #timer: NodeJS.Timeout | undefined

  constructor(
    send: (messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[]) => Promise<void>,
    stateTopic: string,
    statePartitions: number,
    flushMs: number,
  ) {
    this.#send = send
    this.#topic = stateTopic
    this.#partitions = statePartitions
    this.#flushMs = flushMs
  }

  record(deviceId: string, topic: string, partition: number, next: bigint, known: Record<string, number>): void {
    const key = positionsKey(deviceId, topic)
    const value = this.#dirty.get(key) ?? { v: 1, deviceId, topic, positions: { ...known }, at: 0 }
    value.positions[String(partition)] = Number(next)
    value.at = Date.now()
    this.#dirty.set(key, value)
    this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs)
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#dirty.size === 0) return
    const values = [...this.#dirty]
    this.#dirty.clear()
    await this.#send(
      values.map(([key, value]) => ({
        topic: this.#topic,
        partition: partitionOf(value.deviceId, this.#partitions),
        key: Buffer.from(key),
        value: encodeState(value),
      })),
    ).catch(() => {
      // Kafka unavailable: keep the newest positions for the next flush.
      for (const [key, value] of values) if (!this.#dirty.has(key)) this.#dirty.set(key, value)
    })
  }
}
