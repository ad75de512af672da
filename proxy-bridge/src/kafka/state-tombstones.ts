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
  readonly #partitions: number
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #onError: (error: unknown) => void
  #sending: Promise<void> = Promise.resolve()

  constructor(
    options: { brokers: string[]; clientId: string; topic: string; partitions: number },
    onError: (error: unknown) => void,
  ) {
    this.#topic = options.topic
    this.#partitions = options.partitions
    this.#onError = onError
    this.#producer = new Producer({
      clientId: `${options.clientId}-tombstones`,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
    })
  }

  write(keys: ExpiredStateKey[]): void {
    const messages = keys.map(({ deviceId, key }) => ({
      topic: this.#topic,
      partition: partitionOf(deviceId, this.#partitions),
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
