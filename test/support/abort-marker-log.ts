import { ProduceAcks, Producer } from '@platformatic/kafka'
import { brokers } from './kafka.ts'

/** The records of partition `partition` of `topic` that read_committed must return, in order. */
export const committedValues = ['committed-1', 'committed-2']

/**
 * Writes to one partition the log that crashed the Kafka client's
 * read_committed filter (proxy-bridge/scripts/abort-marker-guard.ts): a
 * committed record, an aborted one, then an abort marker of a transaction
 * that added the partition and wrote nothing there (a fenced transaction
 * does that; here Kafka refuses the record, so the topic's max.message.bytes
 * must be below 5,000), then a committed record.
 */
export async function writeEmptyAbortLog(topic: string, partition: number): Promise<void> {
  const producer = (id: string) =>
    new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'it-abort-log',
      bootstrapBrokers: brokers(),
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `it-abort-log-${id}-${topic}`,
      retries: 100,
      retryDelay: 5,
    })
  const record = (value: string | Buffer) => ({
    topic,
    partition,
    key: Buffer.from('k'),
    value: typeof value === 'string' ? Buffer.from(value) : value,
  })
  const a = producer('a')
  const b = producer('b')
  try {
    await a.beginTransaction().then(async (tx) => {
      await tx.send({ messages: [record(committedValues[0] as string)] })
      await tx.commit()
    })
    // An aborted transaction with a record: the broker lists it with the fetch.
    await a.beginTransaction().then(async (tx) => {
      await tx.send({ messages: [record('aborted')] })
      await tx.abort()
    })
    // The partition joins b's transaction, Kafka refuses the record, b aborts.
    await b.beginTransaction().then(async (tx) => {
      const refused = await tx.send({ messages: [record(Buffer.alloc(5000))] }).then(
        () => false,
        () => true,
      )
      if (!refused) throw new Error(`${topic} accepted a 5,000-byte record: lower its max.message.bytes`)
      await tx.abort()
    })
    await a.beginTransaction().then(async (tx) => {
      await tx.send({ messages: [record(committedValues[1] as string)] })
      await tx.commit()
    })
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}
