import { type AckFrame, CloseCodes, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient } from '../support/device-client.ts'
import { createTopics, deleteTopics, keyed, readTopic, uniqueTopic } from '../support/kafka.ts'

// A bridge writes the records of many devices in shared transactions, through
// a few transactional producers ("lanes"). These tests pin one lane per
// bridge, so every device below shares it.

function sendRange(client: DeviceClient, deviceId: string, from: number, to: number, batch = 10): void {
  for (let seq = from; seq <= to; seq += batch) {
    const records = []
    for (let s = seq; s <= Math.min(to, seq + batch - 1); s++) records.push({ seq: s, value: { deviceId, seq: s } })
    client.send({ type: 'produce', records })
  }
}

function ackedPositions(acks: AckFrame[]): Map<number, string> {
  const out = new Map<number, string>()
  for (const ack of acks) {
    for (const r of ack.ranges) {
      for (let seq = r.from; seq <= r.to; seq++) {
        if (!r.duplicate) out.set(seq, `${r.partition}:${(r.offset as number) + (seq - r.from)}`)
      }
    }
  }
  return out
}

async function metric(bridge: Bridge, name: string): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : 0
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

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
    for (const [i, client] of clients.entries()) sendRange(client, ids[i] as string, 1, 200, 20)
    const acked = await Promise.all(clients.map((c) => c.ackedThrough(200)))
    const transactions = (await metric(bridge, 'kafka_edge_kafka_transaction_seconds_count')) - transactionsBefore
    // 80 frames: shared transactions commit them in fewer.
    expect(transactions).toBeLessThan(80)

    const messages = await readTopic(topics.records, { until: (m) => m.length >= ids.length * 200 })
    ids.forEach((id, i) => {
      const mine = messages.filter((m) => m.key.toString() === id)
      expect(mine.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(range(1, 200))
      const positions = ackedPositions(acked[i] as AckFrame[])
      for (const m of mine) {
        expect(positions.get(JSON.parse(m.value.toString()).seq)).toBe(`${m.partition}:${m.offset}`)
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
    sendRange(mover, 'dev-leaver', 1, 100)
    for (const [i, c] of bystanders.entries()) sendRange(c, bystanderIds[i] as string, 1, 300)
    await mover.ackedThrough(50)
    const abortedBefore = await metric(shared, 'kafka_edge_transactions_aborted_total')

    // The takeover fences the shared lane while the bystanders' frames are still coming.
    const moved = await DeviceClient.connect(other.url, { token: moverToken })
    const { watermark } = await moved.hello(undefined, { exact: true })
    for (const [i, c] of bystanders.entries()) sendRange(c, bystanderIds[i] as string, 301, 600)
    sendRange(moved, 'dev-leaver', watermark + 1, 200)
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
    for (const id of bystanderIds) expect(seqs(id)).toEqual(range(1, 600))
    expect(seqs('dev-leaver')).toEqual(range(1, 200))
    for (const c of [...bystanders, mover, moved]) c.close()
  })

  it('a record Kafka refuses fails only its own device, not the devices whose records shared its transaction', async () => {
    const bridge = bridges[0] as Bridge
    const small = uniqueTopic('it-small')
    extraTopics.push(small)
    await createTopics([{ name: small, partitions: 1, configs: { 'max.message.bytes': '1024' } }])
    const good = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-good') })
    await good.hello()
    const bad = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-big', { topics: [small] }) })
    await bad.hello()

    // Both devices claimed first, so their next frames meet in the lane's queue.
    sendRange(good, 'dev-good', 1, 1)
    bad.send({ type: 'produce', records: [{ seq: 1, topic: small, value: { fits: true } }] })
    await Promise.all([good.ackedThrough(1), bad.ackedThrough(1)])
    // The big record lands between the good device's frames, while a transaction is in flight.
    sendRange(good, 'dev-good', 2, 100)
    bad.send({ type: 'produce', records: [{ seq: 2, topic: small, value: { blob: 'x'.repeat(4096) } }] })
    sendRange(good, 'dev-good', 101, 200)
    const error = await bad.error()
    expect(error.code).toBe(ErrorCodes.KAFKA_UNAVAILABLE)
    await good.ackedThrough(200)
    expect(good.closed).toBeUndefined()

    const messages = await readTopic(topics.records, { until: keyed('dev-good', 200) })
    const seqs = messages.filter((m) => m.key.toString() === 'dev-good').map((m) => JSON.parse(m.value.toString()).seq)
    expect(seqs).toEqual(range(1, 200))
    const refused = await readTopic(small, { idleMs: 1000 })
    expect(refused.map((m) => JSON.parse(m.value.toString()))).toEqual([{ fits: true }])
    good.close()
    bad.close()
  })
})
