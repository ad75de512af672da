import { encodeBinaryProduce, type ProduceColumns, type RecordHeaders } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { DeviceClient, jsonRecords, offsetsBySeq } from '../support/device-client.ts'
import { keyed, readTopic } from '../support/kafka.ts'

/** How many records everyEncodingRoundTrip writes. */
const roundTripRecords = 16

/**
 * Every value encoding, a header, and records described as columns (§6.3),
 * acked with the offsets Kafka gave them, read back byte for byte.
 */
async function everyEncodingRoundTrip(url: string, topic: string): Promise<void> {
  const token = await deviceToken('dev-a')
  const client = await DeviceClient.connect(url, { token })
  const welcome = await client.hello()
  expect(welcome.deviceId).toBe('dev-a')
  expect(welcome.watermark).toBe(0)
  expect(welcome.limits.maxBatchRecords).toBeGreaterThan(0)
  expect(welcome.features).toEqual(['produce-columns', 'produce-columns-headers'])

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
    encodeBinaryProduce({ type: 'produce', records: [{ seq: 13, value: bytes.length, encoding: 'binary' }] }, [bytes]),
    true,
  )
  // An empty value, bytes, and timestamps that go back and forth (a month-old backlog among fresh records).
  const columnValues = [Buffer.alloc(0), Buffer.from([9, 0, 255]), Buffer.from('{"ok":true}')]
  const now = Date.now()
  const columnTimes = [now - 31 * 86_400_000, now, now - 1]
  client.sendRaw(
    encodeBinaryProduce(
      {
        type: 'produce',
        columns: {
          seq: 14,
          sizes: columnValues.map((v) => v.length),
          timestampDeltas: columnTimes.map((t, i) => t - (i ? (columnTimes[i - 1] as number) : 0)),
        },
      },
      columnValues,
    ),
    true,
  )
  const acks = await client.ackedThrough(roundTripRecords)
  const bySeq = offsetsBySeq(acks)
  expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: roundTripRecords }, (_, i) => i + 1))

  const messages = await readTopic(topic, { expect: roundTripRecords })
  expect(messages).toHaveLength(roundTripRecords)
  const expected = [
    ...Array.from({ length: 10 }, (_, i) => Buffer.from(JSON.stringify({ seq: i + 1, temp: 20 + (i + 1) / 10 }))),
    Buffer.from('plain text ünïcode', 'utf8'),
    Buffer.from('base64 bytes'),
    Buffer.from(bytes),
    ...columnValues,
  ]
  messages.forEach((m, i) => {
    expect(m.key.toString()).toBe('dev-a')
    expect(m.value.equals(expected[i] as Buffer)).toBe(true)
    const ack = bySeq.get(i + 1)
    expect(ack).toEqual({ partition: m.partition, offset: Number(m.offset), duplicate: false })
  })
  expect(messages.slice(13).map((m) => Number(m.timestamp))).toEqual(columnTimes)
  const headers = [...(messages[10]?.headers ?? new Map<Buffer, Buffer>())].map(([k, v]) => [
    k.toString(),
    v.toString(),
  ])
  expect(headers).toEqual([['unit', 'celsius']])
  client.close()
}

/**
 * An offline device's backlog next to a fresh record, in one frame and so one
 * record batch: each keeps its timestamp (the client's own encoder put a record
 * more than 24.8 days after the batch's first before it).
 */
async function backlogTimestamps(url: string, topic: string, alreadyInTopic: number): Promise<void> {
  const token = await deviceToken('dev-backlog')
  const client = await DeviceClient.connect(url, { token })
  await client.hello()
  const now = Date.now()
  const day = 86_400_000
  const timestamps = [now - 40 * day, now - 30 * day - 1, now - 1, now]
  client.send({
    type: 'produce',
    records: timestamps.map((timestamp, i) => ({ seq: i + 1, value: `reading ${i + 1}`, encoding: 'text', timestamp })),
  })
  await client.ackedThrough(timestamps.length)
  const messages = (await readTopic(topic, { expect: alreadyInTopic + timestamps.length })).filter(
    (m) => m.key.toString() === 'dev-backlog',
  )
  expect(messages.map((m) => [m.value.toString(), Number(m.timestamp)])).toEqual(
    timestamps.map((timestamp, i) => [`reading ${i + 1}`, timestamp]),
  )
  client.close()
}

/**
 * Columns with headers (§6.3), as an object and as one entry per record, read
 * back byte for byte; resent after a reconnect, they are acked as duplicates
 * and Kafka still holds each record once.
 */
async function columnHeadersRoundTrip(url: string, topic: string): Promise<void> {
  const deviceId = 'dev-headers'
  const token = await deviceToken(deviceId)
  const shared = { trace: 'ü-€-1', '7': 'x' }
  // "7" is written first: integer-like names lead JavaScript's property order (§6.4).
  const sharedWritten = [
    ['7', 'x'],
    ['trace', 'ü-€-1'],
  ]
  const perRecord: (RecordHeaders | null)[] = [{ line: '3' }, null, { a: '', b: '😀' }, {}]
  const objectValues = [Buffer.from('a1'), Buffer.alloc(0), Buffer.from([0, 255])]
  const arrayValues = [Buffer.from('{"t":1}'), Buffer.from([7]), Buffer.from('b'), Buffer.from('c')]
  const frame = (seq: number, values: Buffer[], headers: ProduceColumns['headers']) =>
    encodeBinaryProduce({ type: 'produce', columns: { seq, sizes: values.map((v) => v.length), headers } }, values)
  const frames = [frame(1, objectValues, shared), frame(4, arrayValues, perRecord)]

  const first = await DeviceClient.connect(url, { token })
  expect((await first.hello()).features).toContain('produce-columns-headers')
  for (const data of frames) first.sendRaw(data, true)
  const acks = offsetsBySeq(await first.ackedThrough(7))
  expect([...acks.values()].map((a) => a.duplicate)).toEqual(Array(7).fill(false))
  first.close()
  await first.waitClosed()

  const second = await DeviceClient.connect(url, { token })
  expect((await second.hello()).watermark).toBe(7)
  for (const data of frames) second.sendRaw(data, true)
  second.sendRaw(frame(8, [Buffer.from('z')], [{ n: '8' }]), true)
  const resent = offsetsBySeq(await second.ackedThrough(8))
  expect(Array.from({ length: 8 }, (_, i) => resent.get(i + 1)?.duplicate)).toEqual([...Array(7).fill(true), false])
  second.close()

  const messages = (await readTopic(topic, { until: keyed(deviceId, 8) })).filter((m) => m.key.toString() === deviceId)
  const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex')
  const expected = [
    ...objectValues.map((value) => ({ value, headers: sharedWritten })),
    ...arrayValues.map((value, i) => ({ value, headers: Object.entries(perRecord[i] ?? {}) })),
    { value: Buffer.from('z'), headers: [['n', '8']] },
  ]
  expect(messages).toHaveLength(expected.length)
  messages.forEach((m, i) => {
    const { value, headers } = expected[i] as (typeof expected)[number]
    expect(m.value.equals(value), `value of seq ${i + 1}`).toBe(true)
    expect(
      [...(m.headers ?? new Map<Buffer, Buffer>())].map(([k, v]) => [k.toString('hex'), v.toString('hex')]),
      `headers of seq ${i + 1}`,
    ).toEqual(headers.map(([k, v]) => [hex(k as string), hex(v as string)]))
    expect(Number(m.offset)).toBe((i < 7 ? acks : resent).get(i + 1)?.offset ?? Number.NaN)
  })
}

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
    await everyEncodingRoundTrip(bridge.url, topics.records)
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

    const messages = (await readTopic(topics.records, { expect: roundTripRecords + 30 })).filter(
      (m) => m.key.toString() === 'dev-b',
    )
    expect(messages.map((m) => JSON.parse(m.value.toString()).seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    second.close()
  })

  it("keeps an offline backlog's timestamps next to fresh records", async () => {
    await backlogTimestamps(bridge.url, topics.records, roundTripRecords + 30)
  })

  it('writes columns with headers, shared and per record, byte for byte and exactly once', async () => {
    await columnHeadersRoundTrip(bridge.url, topics.records)
  })
})

// As a child process, the way operators run it: built into one file (the
// encoder compiled in), and from its sources through bin/ (the encoder edited
// in by a module hook). Each must keep the timestamps the client's encoder lost.
describe.each([
  { how: 'built into one file', built: true },
  { how: 'from its sources (bin/)', built: false },
])('the bridge as a child process, $how', ({ built }) => {
  const topics = isolatedTopics()
  let url = ''
  let child: BridgeProcess | undefined

  beforeAll(async () => {
    child = await spawnBridge(bridgeConfig(topics), { built })
    url = child.url
  })
  afterAll(async () => {
    await child?.kill('SIGTERM')
    await dropTopics(topics)
  })

  it('writes every encoding byte for byte, with the offsets it acked', async () => {
    await everyEncodingRoundTrip(url, topics.records)
  })

  it("keeps an offline backlog's timestamps next to fresh records", async () => {
    await backlogTimestamps(url, topics.records, roundTripRecords)
  })
})
