import { encodeBinaryProduce } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient, jsonRecords, offsetsBySeq } from '../support/device-client.ts'
import { readTopic } from '../support/kafka.ts'

describe('WebSocket ingest, exactly once', () => {
  const topics = isolatedTopics()
  let bridge: Bridge

  beforeAll(async () => {
    bridge = await startTestBridge(topics)
  })
  afterAll(async () => {
    await bridge?.close()
    await dropTopics(topics)
  })

  it('acks with the real offsets, and Kafka holds the bytes sent, keyed by device, in order', async () => {
    const token = await deviceToken('dev-a')
    const client = await DeviceClient.connect(bridge.url, { token })
    const welcome = await client.hello()
    expect(welcome.deviceId).toBe('dev-a')
    expect(welcome.watermark).toBe(0)
    expect(welcome.limits.maxBatchRecords).toBeGreaterThan(0)

    const bytes = Uint8Array.from([0, 1, 2, 254, 255])
    client.send({ type: 'produce', records: jsonRecords(1, 10, (seq) => ({ seq, temp: 20 + seq / 10 })) })
    client.send({
      type: 'produce',
      records: [
        { seq: 11, value: 'plain text ünïcode', encoding: 'text', headers: { unit: 'celsius' } },
        { seq: 12, value: Buffer.from('base64 bytes').toString('base64'), encoding: 'base64' },
      ],
    })
    client.sendRaw(
      encodeBinaryProduce({ type: 'produce', records: [{ seq: 13, value: bytes.length, encoding: 'binary' }] }, [
        bytes,
      ]),
      true,
    )
    const acks = await client.ackedThrough(13)
    const bySeq = offsetsBySeq(acks)
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1))

    const messages = await readTopic(topics.records, { expect: 13 })
    expect(messages).toHaveLength(13)
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => Buffer.from(JSON.stringify({ seq: i + 1, temp: 20 + (i + 1) / 10 }))),
      Buffer.from('plain text ünïcode', 'utf8'),
      Buffer.from('base64 bytes'),
      Buffer.from(bytes),
    ]
    messages.forEach((m, i) => {
      expect(m.key.toString()).toBe('dev-a')
      expect(m.value.equals(expected[i] as Buffer)).toBe(true)
      const ack = bySeq.get(i + 1)
      expect(ack).toEqual({ partition: m.partition, offset: Number(m.offset), duplicate: false })
    })
    const headers = [...(messages[10]?.headers ?? new Map<Buffer, Buffer>())].map(([k, v]) => [
      k.toString(),
      v.toString(),
    ])
    expect(headers).toEqual([['unit', 'celsius']])
    client.close()
  })

  it('acks a resend after reconnect as duplicate and writes nothing twice', async () => {
    const token = await deviceToken('dev-b')
    const first = await DeviceClient.connect(bridge.url, { token })
    await first.hello()
    first.send({ type: 'produce', records: jsonRecords(1, 20) })
    await first.ackedThrough(20)
    first.close()
    await first.waitClosed()

    const second = await DeviceClient.connect(bridge.url, { token })
    const welcome = await second.hello()
    expect(welcome.watermark).toBe(20)
    // A device that lost its acks resends everything, then continues.
    second.send({ type: 'produce', records: jsonRecords(11, 20) })
    const acks = await second.ackedThrough(30)
    const bySeq = offsetsBySeq(acks)
    expect(bySeq.get(15)?.duplicate).toBe(true)
    expect(bySeq.get(25)?.duplicate).toBe(false)

    const messages = (await readTopic(topics.records, { expect: 13 + 30 })).filter((m) => m.key.toString() === 'dev-b')
    expect(messages.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    second.close()
  })
})
