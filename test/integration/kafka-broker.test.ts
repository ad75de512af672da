import { Admin, ProduceAcks, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokers, createTopics, deleteTopics, readTopic, uniqueTopic } from '../support/kafka.ts'

// The first proof that the project's own broker is a real Kafka: topic
// configs, idempotent acks=all produce, group consumption and transactions.
describe('the project-provisioned Kafka broker', () => {
  const events = uniqueTopic('it.events')
  const state = uniqueTopic('it.state')
  const tx = uniqueTopic('it.tx')

  beforeAll(async () => {
    await createTopics([{ name: events, partitions: 3 }, { name: state, compact: true }, { name: tx }])
  })
  afterAll(async () => {
    await deleteTopics([events, state, tx])
  })

  it('creates a compacted and a normal topic with those cleanup policies', async () => {
    const admin = new Admin({ clientId: 'it-admin', bootstrapBrokers: brokers() })
    try {
      const configs = await admin.describeConfigs({
        resources: [
          { resourceType: 2, resourceName: events, configurationKeys: ['cleanup.policy'] },
          { resourceType: 2, resourceName: state, configurationKeys: ['cleanup.policy'] },
        ],
      })
      const policy = (name: string) =>
        configs.find((c) => c.resourceName === name)?.configs.find((e) => e.name === 'cleanup.policy')?.value
      expect(policy(events)).toBe('delete')
      expect(policy(state)).toBe('compact')
    } finally {
      await admin.close()
    }
  })

  it('produces idempotently with acks=all and a group reads every record from the earliest offset', async () => {
    const producer = new Producer({
      clientId: 'it-idempotent',
      bootstrapBrokers: brokers(),
      idempotent: true,
      acks: ProduceAcks.ALL,
    })
    const sent = Array.from({ length: 30 }, (_, i) => ({
      topic: events,
      key: Buffer.from(`device-${i % 3}`),
      value: Buffer.from(JSON.stringify({ i, reading: i * 0.5 })),
    }))
    try {
      const result = await producer.send({ messages: sent })
      expect(result.offsets?.length).toBeGreaterThan(0)
    } finally {
      await producer.close()
    }

    const received = await readTopic(events, { expect: sent.length })
    expect(received).toHaveLength(sent.length)
    // Per key, order is preserved and values are byte-identical.
    for (const key of ['device-0', 'device-1', 'device-2']) {
      const want = sent.filter((m) => m.key.toString() === key).map((m) => m.value.toString('hex'))
      const got = received.filter((m) => m.key.toString() === key).map((m) => m.value.toString('hex'))
      expect(got).toEqual(want)
    }
  })

  it('hides an aborted transaction from read_committed and shows a committed one', async () => {
    const producer = new Producer({
      clientId: 'it-tx',
      bootstrapBrokers: brokers(),
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `it-tx-${tx}`,
    })
    try {
      const aborted = await producer.beginTransaction()
      await aborted.send({ messages: [{ topic: tx, key: Buffer.from('k'), value: Buffer.from('aborted') }] })
      await aborted.abort()

      const committed = await producer.beginTransaction()
      await committed.send({ messages: [{ topic: tx, key: Buffer.from('k'), value: Buffer.from('committed') }] })
      await committed.commit()
    } finally {
      await producer.close()
    }

    const readCommitted = await readTopic(tx, { expect: 1 })
    expect(readCommitted.map((m) => m.value.toString())).toEqual(['committed'])

    // read_uncommitted sees the aborted record too: the abort was real, not a no-op.
    const readUncommitted = await readTopic(tx, { expect: 2, readCommitted: false })
    expect(readUncommitted.map((m) => m.value.toString())).toEqual(['aborted', 'committed'])
  })
})
