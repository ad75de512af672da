import type { DeliveredRecord } from '@kafka-edge/edge-agent/protocol/delivery'
import type { LogReader, LogRecord } from '../kafka/log-reader.ts'
import { PartitionTail } from '../kafka/partition-tail.ts'
import { toDelivered } from './delivered-record.ts'

/** Something that takes live records of one partition from the fan-out. */
export interface LiveReceiver {
  readonly addresses: Set<string>
  /**
   * `delivered` converts the record once for all its receivers (a broadcast
   * reaches thousands). Returns false when it cannot take more: the fan-out
   * then drops it (it will catch up from Kafka).
   */
  receive(record: LogRecord, delivered: () => DeliveredRecord): boolean
}

/**
 * One reader per topic per bridge: follows every partition from the end and
 * routes each record to the connected devices it is addressed to. Devices
 * behind the live end catch up by reading Kafka themselves and join here.
 */
export class TopicFanout {
  readonly topic: string
  readonly #tail: PartitionTail
  // partition → record key → receivers (with the first offset each takes)
  readonly #routes = new Map<number, Map<string, Map<LiveReceiver, bigint>>>()

  private constructor(reader: LogReader, topic: string, from: Map<number, bigint>, onError: (e: unknown) => void) {
    this.topic = topic
    this.#tail = new PartitionTail(reader, topic, from, (records) => this.#route(records), onError)
  }

  static async start(reader: LogReader, topic: string, onError: (e: unknown) => void): Promise<TopicFanout> {
    const ends = await reader.endOffsets(topic)
    const fanout = new TopicFanout(reader, topic, new Map(ends.map((offset, p) => [p, offset])), onError)
    fanout.#tail.start()
    return fanout
  }

  /** Next offset the fan-out will read in this partition. */
  position(partition: number): bigint {
    return this.#tail.positions.get(partition) ?? 0n
  }

  /** Live delivery from `from` on; call only when `from >= position(partition)`, in the same tick as the check. */
  join(receiver: LiveReceiver, partition: number, from: bigint): void {
    let byKey = this.#routes.get(partition)
    if (!byKey) {
      byKey = new Map()
      this.#routes.set(partition, byKey)
    }
    for (const key of receiver.addresses) {
      let receivers = byKey.get(key)
      if (!receivers) {
        receivers = new Map()
        byKey.set(key, receivers)
      }
      receivers.set(receiver, from)
    }
  }

  leave(receiver: LiveReceiver, partition: number): void {
    const byKey = this.#routes.get(partition)
    if (!byKey) return
    for (const key of receiver.addresses) {
      const receivers = byKey.get(key)
      receivers?.delete(receiver)
      if (receivers?.size === 0) byKey.delete(key)
    }
  }

  #route(records: LogRecord[]): void {
    for (const record of records) {
      const key = record.key?.toString('utf8')
      if (key === undefined) continue
      const receivers = this.#routes.get(record.partition)?.get(key)
      if (!receivers) continue
      let converted: DeliveredRecord | undefined
      const delivered = () => {
        converted ??= toDelivered(record)
        return converted
      }
      for (const [receiver, from] of receivers) {
        if (record.offset < from) continue
        if (!receiver.receive(record, delivered)) this.leave(receiver, record.partition)
      }
    }
  }

  stop(): Promise<void> {
    return this.#tail.stop()
  }
}
