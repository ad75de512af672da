// Which transactional ids hold a transaction stuck open on a partition, as
// the bridge asks Kafka before it fences a state partition's lanes.
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { stuckTransactions } from '../../proxy-bridge/src/kafka/stuck-transactions.ts'
import { transactionalProducer } from '../../proxy-bridge/src/kafka/transaction-lane.ts'
import { brokers, createTopics, deleteTopics, uniqueTopic } from '../support/kafka.ts'

describe('stuckTransactions', () => {
  const topic = uniqueTopic('it-stuck')
  const closers: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const close of closers) await close().catch(() => {})
    await deleteTopics([topic]).catch(() => {})
  })

  it('names the ids whose transaction stays open on the partition, not idle, finished, elsewhere or unknown ones', async () => {
    await createTopics([{ name: topic, partitions: 2 }])
    const prefix = `it-stuck-${randomUUID().slice(0, 8)}`
    const producer = (name: string) => {
      const p = transactionalProducer(`${prefix}-${name}`, {
        brokers: brokers(),
        clientId: 'it-stuck',
        transactionTimeoutMs: 60_000,
      })
      closers.push(() => p.close())
      return p
    }
    const openOn = async (name: string, partition: number) => {
      const tx = await producer(name).beginTransaction()
      await tx.send({ messages: [{ topic, partition, key: Buffer.from(name), value: Buffer.from('v') }] })
    }
    await openOn('open-here', 0)
    await openOn('open-elsewhere', 1)
    const committed = await producer('committed').beginTransaction()
    await committed.send({ messages: [{ topic, partition: 0, key: Buffer.from('c'), value: Buffer.from('v') }] })
    await committed.commit()
    await producer('idle').beginTransaction()

    const ids = ['open-here', 'open-elsewhere', 'committed', 'idle', 'never-used'].map((n) => `${prefix}-${n}`)
    expect(await stuckTransactions(brokers(), 'it-stuck', ids, topic, 0, { settleMs: 300 })).toEqual([
      `${prefix}-open-here`,
    ])
    expect(await stuckTransactions(brokers(), 'it-stuck', ids, topic, 1, { settleMs: 300 })).toEqual([
      `${prefix}-open-elsewhere`,
    ])
    expect(await stuckTransactions(brokers(), 'it-stuck', [], topic, 0)).toEqual([])
    // Without naming them: every id of the prefix Kafka lists as ongoing is looked at.
    expect(await stuckTransactions(brokers(), 'it-stuck', [], topic, 0, { prefix, settleMs: 300 })).toEqual([
      `${prefix}-open-here`,
    ])
    expect(await stuckTransactions(brokers(), 'it-stuck', [], topic, 1, { prefix: `${prefix}-open-here` })).toEqual([])
  })
})
