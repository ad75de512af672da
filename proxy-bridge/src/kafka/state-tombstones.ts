import { ProduceAcks, Producer } from '@platformatic/kafka'
import { partitionOf } from './device-state.ts'
import type { ExpiredStateKey } from './state-view.ts'

/**
 * Deletes expired records from the compacted device-state topic: a record
 * with the same key and no value, which compaction keeps only for the
 * topic's `delete.retention.ms`. Every bridge that sees a record expire
 * writes one; the duplicates cost nothing once compacted. Nothing here is
 * transactional: a tombstone only removes what nobody reads any more.
 */
export class StateTombstones {
  readonly #topic: string
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #onError: (error: unknown) => void
  #partitions: number | undefined
  #pending: ExpiredStateKey[] = []
  #sending: Promise<void> = Promise.resolve()

  constructor(brokers: string[], clientId: string, topic: string, onError: (error: unknown) => void) {
    this.#topic = topic
    this.#onError = onError
    this.#producer = new Producer({
      clientId: `${clientId}-tombstones`,
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    })
  }

  /** The topic's partition count, known once the bridge has looked: keys expired before wait for it. */
  start(partitions: number): void {
    this.#partitions = partitions
    this.#flush()
  }

  write(keys: ExpiredStateKey[]): void {
    this.#pending.push(...keys)
    this.#flush()
  }

  #flush(): void {
    const partitions = this.#partitions
    if (partitions === undefined || this.#pending.length === 0) return
    const batch = this.#pending.splice(0)
    const messages = batch.map(({ deviceId, key }) => ({
      topic: this.#topic,
      partition: partitionOf(deviceId, partitions),
      key: Buffer.from(key, 'utf8'),
      // A null value: Kafka's tombstone.
      value: null as unknown as Buffer,
    }))
    this.#sending = this.#sending.then(() => this.#producer.send({ messages }).then(() => {}, this.#onError))
  }

  async close(): Promise<void> {
    await this.#sending
    await this.#producer.close().catch(() => {})
  }
}
