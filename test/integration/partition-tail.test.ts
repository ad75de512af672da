/**
 * PartitionTail against the real broker: a batched tail gathers the commits
 * of a busy topic into few fetches and still hands over every record once,
 * in order; `hurry` makes it return at once while someone waits.
 */

import { ProduceAcks, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogReader, type LogRecord } from '../../proxy-bridge/src/kafka/log-reader.ts'
import { PartitionTail } from '../../proxy-bridge/src/kafka/partition-tail.ts'
import { brokers, createTopics, deleteTopics, uniqueTopic } from '../support/kafka.ts'

const topic = uniqueTopic('it-tail')

/** A transactional producer committing one record per transaction, as the bridge's lanes commit state records. */
function committer(id: string) {
  const producer = new Producer({
    clientId: 'it-tail',
    bootstrapBrokers: brokers(),
    idempotent: true,
    acks: ProduceAcks.ALL,
    transactionalId: `it-tail-${id}-${topic}`,
    // The next transaction begins while the broker still writes the last one's markers (CONCURRENT_TRANSACTIONS).
    retries: 100,
    retryDelay: 5,
  })
  return {
    async commit(value: string): Promise<void> {
      const tx = await producer.beginTransaction()
      await tx.send({ messages: [{ topic, partition: 0, key: Buffer.from('k'), value: Buffer.from(value) }] })
      await tx.commit()
    },
    close: () => producer.close(),
  }
}

/**
 * A running tail from offset `from`, recording each hand-over. Each has its
 * own reader: the broker answers one connection's requests in order, so a
 * fetch waiting for data holds back the next request on that connection.
 */
function follow(from: bigint, options: ConstructorParameters<typeof PartitionTail>[5] = {}) {
  const reader = new LogReader(brokers(), 'it-tail')
  const handovers: LogRecord[][] = []
  let wake: (() => void) | undefined
  const tail = new PartitionTail(
    reader,
    topic,
    new Map([[0, from]]),
    (records) => {
      handovers.push(records)
      wake?.()
    },
    undefined,
    options,
  )
  tail.start()
  const values = () => handovers.flat().map((r) => r.value?.toString())
  return {
    tail,
    handovers,
    values,
    async stop(): Promise<void> {
      await tail.stop()
      await reader.close()
    },
    /** Resolves once `count` records arrived in all; rejects after timeoutMs. */
    async received(count: number, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs
      while (values().length < count) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`got ${values().length} of ${count} records in ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    },
  }
}

describe('PartitionTail', () => {
  let reader: LogReader

  beforeAll(async () => {
    await createTopics([{ name: topic }])
    reader = new LogReader(brokers(), 'it-tail')
  })

  afterAll(async () => {
    await reader.close()
    await deleteTopics([topic])
  })

  it('gathers a busy topic into few fetches and hands over every record once, in order', async () => {
    const start = (await reader.endOffsets(topic))[0] ?? 0n
    // Some 20 commits of a 200-byte record fill minBytes; the last record alone does.
    // Commits come far faster than maxWaitMs runs out, so how records group does not
    // depend on the machine's speed; stopping waits out the last fetch (5 s).
    const batched = follow(start, { batched: { maxWaitMs: 5000, minBytes: 8192 } })
    const eager = follow(start)
    const producer = committer('busy')
    try {
      const sent = Array.from(
        { length: 80 },
        (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(i === 79 ? 9000 : 197)}`,
      )
      for (const value of sent) await producer.commit(value)
      await Promise.all([batched.received(sent.length, 20_000), eager.received(sent.length, 20_000)])

      expect(batched.values()).toEqual(sent)
      expect(eager.values()).toEqual(sent)
      // The eager tail returns on (nearly) every commit; the batched one once per 8 KB.
      expect(batched.handovers.length).toBeLessThanOrEqual(12)
      expect(eager.handovers.length).toBeGreaterThan(2 * batched.handovers.length)
    } finally {
      await producer.close()
      await Promise.all([batched.stop(), eager.stop()])
    }
  })

  it('returns at once while hurried, though busy', async () => {
    const start = (await reader.endOffsets(topic))[0] ?? 0n
    // Unhurried, a busy tail's next fetch would wait 30 s for 1 MiB.
    const tail = follow(start, { batched: { maxWaitMs: 30_000, minBytes: 1024 * 1024 } })
    const release = tail.tail.hurry()
    const producer = committer('hurry')
    try {
      for (const [i, value] of ['first', 'second', 'third'].entries()) {
        await producer.commit(value)
        await tail.received(i + 1, 10_000)
      }
      expect(tail.values()).toEqual(['first', 'second', 'third'])
    } finally {
      release()
      await producer.close()
      await tail.stop()
    }
  })
})
