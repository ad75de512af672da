import { type AckFrame, CloseCodes, ErrorCodes, type PongFrame } from '@kafka-edge/edge-agent/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient, jsonRecords } from '../support/device-client.ts'
import { keyed, readTopic } from '../support/kafka.ts'

describe('bridge metrics and graceful shutdown', () => {
  const topics = isolatedTopics()
  afterAll(async () => {
    await dropTopics(topics)
  })

  it('counts what devices sent on /metrics', async () => {
    const bridge = await startTestBridge(topics)
    try {
      const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-metrics') })
      await client.hello()
      client.send({ type: 'produce', records: jsonRecords(1, 7) })
      await client.ackedThrough(7)
      client.send({ type: 'produce', records: jsonRecords(1, 7) })
      await client.waitFor((f): f is AckFrame => f.type === 'ack' && f.ranges.some((r) => r.duplicate === true))
      client.send({ type: 'nonsense' })
      await client.error(ErrorCodes.UNKNOWN_FRAME_TYPE)

      const text = await (await fetch(`${bridge.url}/metrics`)).text()
      expect(text).toMatch(/kafka_edge_connected_devices 1/)
      expect(text).toMatch(/kafka_edge_records_received_total\{transport="ws"\} 14/)
      expect(text).toMatch(/kafka_edge_records_acked_total\{transport="ws"\} 7/)
      expect(text).toMatch(/kafka_edge_records_duplicate_total\{transport="ws"\} 7/)
      expect(text).toMatch(/kafka_edge_client_errors_total\{code="E_UNKNOWN_FRAME_TYPE"\} 1/)
      expect(text).toMatch(/kafka_edge_kafka_transaction_seconds_count [1-9]/)
      client.close()
    } finally {
      await bridge.close()
    }
  })

  it('acks what it received, then closes sockets with 1001 and a reason, and refuses new ones meanwhile', async () => {
    const bridge = await startTestBridge(topics)
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-shutdown') })
    await client.hello()
    client.send({ type: 'produce', records: jsonRecords(1, 50) })
    client.send({ type: 'produce', records: jsonRecords(51, 50) })
    // The pong proves the bridge has read both frames; their commits are still in flight.
    client.send({ type: 'ping', t: 1 })
    await client.waitFor((f): f is PongFrame => f.type === 'pong')
    const lateToken = await deviceToken('dev-late')
    const closing = bridge.close('maintenance')
    // The listener stays open while in-flight work settles; new sockets are refused with a reason.
    const refused = (await DeviceClient.connect(bridge.url, { token: lateToken }).catch((e: unknown) => e)) as {
      status?: number
      body?: string
    }
    expect(refused.status).toBe(503)
    expect(JSON.parse(refused.body ?? '{}').code).toBe(ErrorCodes.SHUTTING_DOWN)
    await closing

    const closed = await client.waitClosed()
    expect(closed.code).toBe(CloseCodes.GOING_AWAY)
    expect(closed.reason).toBe(`${ErrorCodes.SHUTTING_DOWN}: maintenance`)
    // Every record received before the shutdown was committed and acked.
    expect(Math.max(...client.acks().map((a) => a.watermark))).toBe(100)
    const messages = (await readTopic(topics.records, { until: keyed('dev-shutdown', 100) })).filter(
      (m) => m.key.toString() === 'dev-shutdown',
    )
    expect(messages).toHaveLength(100)
  })

  it('answers a frame sent while it drains with E_SHUTTING_DOWN and how long to wait, and still commits what it had', async () => {
    // A long transaction interval holds the second frame queued for seconds: the drain waits for it.
    const bridge = await startTestBridge(topics, { exactlyOnce: { txnIntervalMs: 3000 }, shutdownGraceMs: 4321 })
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-draining') })
    await client.hello()
    client.send({ type: 'produce', records: jsonRecords(1, 10) })
    await client.ackedThrough(10)
    client.send({ type: 'produce', records: jsonRecords(11, 10) })
    client.send({ type: 'ping', t: 1 })
    await client.waitFor((f): f is PongFrame => f.type === 'pong')
    const closing = bridge.close('maintenance')
    const refused = await client.sendExpectingError(
      { type: 'produce', records: jsonRecords(21, 10) },
      ErrorCodes.SHUTTING_DOWN,
    )
    expect(refused).toMatchObject({ retryable: true, retryAfterMs: 4321 })
    await closing

    expect((await client.waitClosed()).code).toBe(CloseCodes.GOING_AWAY)
    expect(Math.max(...client.acks().map((a) => a.watermark))).toBe(20)
    const messages = (await readTopic(topics.records, { until: keyed('dev-draining', 20) })).filter(
      (m) => m.key.toString() === 'dev-draining',
    )
    expect(messages.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  })
})
