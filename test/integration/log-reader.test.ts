/**
 * LogReader against the real broker: read_committed around aborted
 * transactions, including one that added a partition and wrote nothing there
 * (a fenced transaction does that). The Kafka client's own filter used to
 * throw from a socket callback on its abort marker, which ends the process
 * (proxy-bridge/scripts/abort-marker-guard.ts).
 */

import { ProduceAcks, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogReader } from '../../proxy-bridge/src/kafka/log-reader.ts'
import { brokers, createTopics, deleteTopics, uniqueTopic } from '../support/kafka.ts'

const topic = uniqueTopic('it-reader')

function producer(id: string): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer({
    clientId: 'it-reader',
    bootstrapBrokers: brokers(),
    idempotent: true,
    acks: ProduceAcks.ALL,
    transactionalId: `it-reader-${id}-${topic}`,
    retries: 100,
    retryDelay: 5,
  })
}

const record = (value: string | Buffer) => ({
  topic,
  partition: 0,
  key: Buffer.from('k'),
  value: typeof value === 'string' ? Buffer.from(value) : value,
})

describe('LogReader', () => {
  beforeAll(async () => {
    // Small enough that a 5,000-byte record is refused after the partition joined the transaction.
    await createTopics([{ name: topic, configs: { 'max.message.bytes': '2000' } }])
  })

  afterAll(async () => {
    await deleteTopics([topic])
  })

  it('reads only committed records past an abort marker whose transaction wrote nothing there', async () => {
    const a = producer('a')
    const b = producer('b')
    try {
      await a.beginTransaction().then(async (tx) => {
        await tx.send({ messages: [record('committed-1')] })
        await tx.commit()
      })
      // An aborted transaction with a record: the broker lists it with the fetch.
      await a.beginTransaction().then(async (tx) => {
        await tx.send({ messages: [record('aborted')] })
        await tx.abort()
      })
      // The partition joins b's transaction, Kafka refuses the record, b aborts:
      // an abort marker with no record of its transaction before it.
      await b.beginTransaction().then(async (tx) => {
        await expect(tx.send({ messages: [record(Buffer.alloc(5000))] })).rejects.toThrow()
        await tx.abort()
      })
      await a.beginTransaction().then(async (tx) => {
        await tx.send({ messages: [record('committed-2')] })
        await tx.commit()
      })
    } finally {
      await Promise.all([a.close(), b.close()])
    }

    const reader = new LogReader(brokers(), 'it-reader')
    try {
      const values: string[] = []
      const from = new Map([[0, 0n]])
      for (let i = 0; i < 10 && !values.includes('committed-2'); i++) {
        const result = (await reader.fetch(topic, from, { maxWaitMs: 100 })).get(0)
        for (const r of result?.records ?? []) values.push(r.value?.toString() ?? '')
        from.set(0, result?.nextOffset ?? 0n)
      }
      expect(values).toEqual(['committed-1', 'committed-2'])
    } finally {
      await reader.close()
    }
  })
})
