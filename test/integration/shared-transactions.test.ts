import { type AckFrame, CloseCodes, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, metric, startTestBridge } from '../support/bridge.ts'
import { DeviceClient, offsetsBySeq, seqRange } from '../support/device-client.ts'
import { createTopics, deleteTopics, keyed, readTopic, uniqueTopic } from '../support/kafka.ts'

// A bridge writes the records of many devices in shared transactions, through
// a few transactional producers ("lanes"). These tests pin one lane per
// bridge, so every device below shares it.

const record = (deviceId: string) => (seq: number) => ({ deviceId, seq })

describe('devices sharing a bridge transaction', () => {
  const topics = isolatedTopics()
  const bridges: Bridge[] = []
  const extraTopics: string[] = []

  beforeAll(async () => {
    bridges.push(await startTestBridge(topics, { exactlyOnce: { lanes: 1 } }))
  })
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.close()))
    await dropTopics(topics)
    if (extraTopics.length) await deleteTopics(extraTopics).catch(() => {})
  })

  it("records of many devices committed together: each ack names its record's real partition and offset", async () => {
    const bridge = bridges[0] as Bridge
    const ids = Array.from({ length: 8 }, (_, i) => `dev-shared-${i}`)
    const clients = await Promise.all(
      ids.map(async (id) => {
        const client = await DeviceClient.connect(bridge.url, { token: await deviceToken(id) })
        await client.hello()
        return client
      }),
    )
    const transactionsBefore = await metric(bridge, 'kafka_edge_kafka_transaction_seconds_count')
    for (const [i, client] of clients.entries()) client.sendRange(1, 200, record(ids[i] as string), 20)
    const acked = await Promise.all(clients.map((c) => c.ackedThrough(200)))
    const transactions = (await metric(bridge, 'kafka_edge_kafka_transaction_seconds_count')) - transactionsBefore
    // 80 frames: shared transactions commit them in fewer.
    expect(transactions).toBeLessThan(80)

    const messages = await readTopic(topics.records, { until: (m) => m.length >= ids.length * 200 })
    ids.forEach((id, i) => {
      const mine = messages.filter((m) => m.key.toString() === id)
      expect(mine.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(seqRange(1, 200))
      const positions = offsetsBySeq(acked[i] as AckFrame[])
      for (const m of mine) {
        const seq = JSON.parse(m.value.toString()).seq
        expect(positions.get(seq)).toEqual({ partition: m.partition, offset: Number(m.offset), duplicate: false })
      }
    })
    for (const c of clients) c.close()
  })

  it('a device taken over by another bridge fences the transaction it shared: the other devices on it lose nothing and double nothing', async () => {
    const shared = bridges[0] as Bridge
    const other = await startTestBridge(topics)
    bridges.push(other)
    const bystanderIds = ['dev-bystander-0', 'dev-bystander-1', 'dev-bystander-2']
    const bystanders = await Promise.all(
      bystanderIds.map(async (id) => {
        const client = await DeviceClient.connect(shared.url, { token: await deviceToken(id) })
        await client.hello()
        return client
      }),
    )
    const moverToken = await deviceToken('dev-leaver')
    const mover = await DeviceClient.connect(shared.url, { token: moverToken })
    await mover.hello()
    mover.sendRange(1, 100, record('dev-leaver'))
    for (const [i, c] of bystanders.entries()) c.sendRange(1, 300, record(bystanderIds[i] as string))
    await mover.ackedThrough(50)
    const abortedBefore = await metric(shared, 'kafka_edge_transactions_aborted_total')

    // The takeover fences the shared lane while the bystanders' frames are still coming.
    const moved = await DeviceClient.connect(other.url, { token: moverToken })
    const { watermark } = await moved.hello(undefined, { exact: true })
    for (const [i, c] of bystanders.entries()) c.sendRange(301, 600, record(bystanderIds[i] as string))
    moved.sendRange(watermark + 1, 200, record('dev-leaver'))
    await moved.ackedThrough(200)
    await Promise.all(bystanders.map((c) => c.ackedThrough(600)))

    // The lane really was fenced under them, and they never noticed.
    expect(await metric(shared, 'kafka_edge_transactions_aborted_total')).toBeGreaterThan(abortedBefore)
    for (const c of bystanders) expect(c.closed).toBeUndefined()
    if (mover.closed) expect(mover.closed.code).toBe(CloseCodes.SESSION_REPLACED)

    const messages = await readTopic(topics.records, {
      until: (m) => keyed('dev-leaver', 200)(m) && bystanderIds.every((id) => keyed(id, 600)(m)),
    })
    const seqs = (id: string) =>
      messages.filter((m) => m.key.toString() === id).map((m) => JSON.parse(m.value.toString()).seq)
    for (const id of bystanderIds) expect(seqs(id)).toEqual(seqRange(1, 600))
    expect(seqs('dev-leaver')).toEqual(seqRange(1, 200))
    for (const c of [...bystanders, mover, moved]) c.close()
  })

  it('a record Kafka refuses fails only its own frame, with a code that says so: the devices sharing its transaction lose nothing, and its device goes on', async () => {
    const bridge = bridges[0] as Bridge
    const small = uniqueTopic('it-small')
    extraTopics.push(small)
    await createTopics([{ name: small, partitions: 1, configs: { 'max.message.bytes': '1024' } }])
    const good = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-good') })
    await good.hello()
    const bad = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-big', { topics: [small] }) })
    await bad.hello()

    // Both devices claimed first, so their next frames meet in the lane's queue.
    good.sendRange(1, 1, record('dev-good'))
    bad.send({ type: 'produce', records: [{ seq: 1, topic: small, value: { fits: true } }] })
    await Promise.all([good.ackedThrough(1), bad.ackedThrough(1)])
    // The big record lands between the good device's frames, while a transaction is in flight.
    good.sendRange(2, 100, record('dev-good'))
    bad.send({ type: 'produce', records: [{ seq: 2, topic: small, value: { blob: 'x'.repeat(4096) } }] })
    good.sendRange(101, 200, record('dev-good'))
    const error = await bad.error()
    expect(error).toMatchObject({ code: ErrorCodes.RECORD_TOO_LARGE, retryable: false, watermark: 1, nextSeq: 2 })
    expect(error.message).toMatch(/MESSAGE_TOO_LARGE/)
    await good.ackedThrough(200)
    expect(good.closed).toBeUndefined()
    // Not a Kafka outage: the socket stays, and the device resumes at nextSeq with a record Kafka takes.
    bad.send({ type: 'produce', records: [{ seq: 2, topic: small, value: { fits: 'again' } }] })
    await bad.ackedThrough(2)
    expect(bad.closed).toBeUndefined()

    const messages = await readTopic(topics.records, { until: keyed('dev-good', 200) })
    const seqs = messages.filter((m) => m.key.toString() === 'dev-good').map((m) => JSON.parse(m.value.toString()).seq)
    expect(seqs).toEqual(seqRange(1, 200))
    const refused = await readTopic(small, { idleMs: 1000 })
    expect(refused.map((m) => JSON.parse(m.value.toString()))).toEqual([{ fits: true }, { fits: 'again' }])
    good.close()
    bad.close()
  })
})

describe("spacing of a lane's transactions (exactlyOnce.txnIntervalMs)", () => {
  const topics = isolatedTopics()
  const bridges: Bridge[] = []
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.close()))
    await dropTopics(topics)
  })

  it('frames arriving within the interval share one transaction instead of one each', async () => {
    const bridge = await startTestBridge(topics, { exactlyOnce: { lanes: 1, txnIntervalMs: 1500 } })
    bridges.push(bridge)
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-spaced') })
    await client.hello()
    client.sendRange(1, 1, record('dev-spaced'))
    await client.ackedThrough(1)
    const before = await metric(bridge, 'kafka_edge_kafka_transaction_seconds_count')
    // 20 frames over ~400 ms: back to back, each would find the lane idle and commit alone.
    for (let seq = 2; seq <= 21; seq++) {
      client.sendRange(seq, seq, record('dev-spaced'))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await client.ackedThrough(21)
    expect((await metric(bridge, 'kafka_edge_kafka_transaction_seconds_count')) - before).toBeLessThanOrEqual(3)
    const messages = await readTopic(topics.records, { until: keyed('dev-spaced', 21) })
    expect(messages.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(seqRange(1, 21))
    client.close()
  })

  it('a full transaction does not wait for the interval, nor does one that fills while waiting', async () => {
    // A minute between transactions, unless maxTxnRecords are queued: every 10-record frame fills one.
    const bridge = await startTestBridge(topics, {
      exactlyOnce: { lanes: 1, txnIntervalMs: 60_000, maxTxnRecords: 10 },
    })
    bridges.push(bridge)
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-full') })
    await client.hello()
    client.sendRange(1, 50, record('dev-full'), 10)
    await client.ackedThrough(50, 20_000)
    // Half a transaction waits for the interval, until the other half arrives and fills it.
    client.sendRange(51, 55, record('dev-full'), 5)
    await new Promise((resolve) => setTimeout(resolve, 300))
    client.sendRange(56, 60, record('dev-full'), 5)
    await client.ackedThrough(60, 20_000)
    const messages = await readTopic(topics.records, { until: keyed('dev-full', 60) })
    expect(
      messages.filter((m) => m.key.toString() === 'dev-full').map((m) => JSON.parse(m.value.toString()).seq),
    ).toEqual(seqRange(1, 60))
    client.close()
  })
})
