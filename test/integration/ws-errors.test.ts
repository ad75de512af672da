import {
  type AckFrame,
  CloseCodes,
  ErrorCodes,
  encodeBinaryFrame,
  type PongFrame,
} from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient, jsonRecords } from '../support/device-client.ts'
import { createTopics, uniqueTopic } from '../support/kafka.ts'

// Every error a device can cause: a code, a message, and a socket that survives
// whatever the device can recover from. Small limits make each one cheap to hit.
describe('WebSocket errors', () => {
  const topics = isolatedTopics()
  const extraTopic = uniqueTopic('it.telemetry')
  let bridge: Bridge

  beforeAll(async () => {
    bridge = await startTestBridge(topics, {
      limits: {
        maxBatchRecords: 40,
        maxFrameBytes: 16 * 1024,
        maxRecordBytes: 1024,
        creditRecords: 40,
        creditBytes: 64 * 1024,
        ratePerSec: 200,
        burst: 200,
      },
      auth: { helloTimeoutMs: 1500 },
    })
    await createTopics([{ name: extraTopic }])
  })
  afterAll(async () => {
    await bridge?.close()
    await dropTopics(topics)
  })

  async function connected(deviceId: string, topicsClaim: string[] = []): Promise<DeviceClient> {
    const client = await DeviceClient.connect(bridge.url, {
      token: await deviceToken(deviceId, { topics: topicsClaim }),
    })
    await client.hello()
    return client
  }

  it('refuses an expired token at connect with 401 E_TOKEN_EXPIRED', async () => {
    const token = await deviceToken('dev-expired', { expiresIn: -60 })
    const error = await DeviceClient.connect(bridge.url, { token }).catch((e: { status: number; body: string }) => e)
    expect(error).toMatchObject({ status: 401 })
    expect(JSON.parse((error as { body: string }).body).code).toBe(ErrorCodes.TOKEN_EXPIRED)
  })

  it('refuses a token signed with an unknown key with 401 E_TOKEN_INVALID', async () => {
    const token = await deviceToken('dev-forged', { secret: 'not-the-bridge-secret-0123456789abcdef' })
    const error = await DeviceClient.connect(bridge.url, { token }).catch((e: { status: number; body: string }) => e)
    expect(error).toMatchObject({ status: 401 })
    expect(JSON.parse((error as { body: string }).body).code).toBe(ErrorCodes.TOKEN_INVALID)
  })

  it('refuses a socket without the kafka-edge.v1 subprotocol with 400 E_SUBPROTOCOL', async () => {
    const token = await deviceToken('dev-proto')
    const error = await DeviceClient.connect(bridge.url, { token, protocols: ['chat'] }).catch(
      (e: { status: number; body: string }) => e,
    )
    expect(error).toMatchObject({ status: 400 })
    expect(JSON.parse((error as { body: string }).body).code).toBe(ErrorCodes.SUBPROTOCOL)
  })

  it('accepts the token in hello (browsers) and closes 4401 on a hello without one', async () => {
    const browser = await DeviceClient.connect(bridge.url)
    const welcome = await browser.hello(await deviceToken('dev-browser'))
    expect(welcome.deviceId).toBe('dev-browser')
    browser.close()

    const anonymous = await DeviceClient.connect(bridge.url)
    anonymous.send({ type: 'hello' })
    expect((await anonymous.error()).code).toBe(ErrorCodes.AUTH_REQUIRED)
    expect((await anonymous.waitClosed()).code).toBe(CloseCodes.UNAUTHORIZED)
  })

  it('answers malformed JSON, unknown frame types, produce before hello and bad frames, and keeps the socket', async () => {
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-sloppy') })
    client.send({ type: 'produce', records: jsonRecords(1, 1) })
    expect((await client.error(ErrorCodes.HELLO_REQUIRED)).retryable).toBe(false)
    await client.hello()
    client.sendRaw('{"type": "produce", "records": [')
    expect((await client.error(ErrorCodes.BAD_FRAME)).message).toContain('not valid JSON')
    client.send({ type: 'teleport', to: 'mars' })
    expect((await client.error(ErrorCodes.UNKNOWN_FRAME_TYPE)).message).toContain('teleport')
    const badSeq = await client.sendExpectingError(
      { type: 'produce', records: [{ seq: 0, value: 1 }] },
      ErrorCodes.BAD_FRAME,
    )
    expect(badSeq.message).toContain('seq')
    client.send({ type: 'produce', records: [{ seq: 1, value: 'not base64!', encoding: 'base64' }] })
    expect((await client.error(ErrorCodes.VALUE_INVALID)).message).toContain('base64')
    client.sendRaw(new Uint8Array([0, 0]), true)
    await client.error(ErrorCodes.BAD_FRAME, client.frames.length)

    // Still usable.
    client.send({ type: 'produce', records: jsonRecords(1, 3) })
    await client.ackedThrough(3)
    client.send({ type: 'ping', t: 42 })
    expect(await client.waitFor((f): f is PongFrame => f.type === 'pong')).toEqual({ type: 'pong', t: 42 })
    expect(client.closed).toBeUndefined()
    client.close()
  })

  it('closes a socket that never says hello', async () => {
    const silent = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-silent') })
    expect((await silent.error(ErrorCodes.HELLO_REQUIRED)).message).toContain('hello')
    expect((await silent.waitClosed()).code).toBe(CloseCodes.POLICY_VIOLATION)
  })

  it('refuses timestamps Kafka would refuse and writes to the bridge topics, whatever the token says', async () => {
    const client = await connected('dev-clock', ['*'])
    const future = Date.now() + 2 * 3600_000
    const late = await client.sendExpectingError(
      { type: 'produce', records: [{ seq: 1, value: 1, timestamp: future }] },
      ErrorCodes.VALUE_INVALID,
    )
    expect(late.message).toContain('future')
    const forged = await client.sendExpectingError(
      { type: 'produce', records: [{ seq: 1, topic: topics.deviceState, value: { watermark: 1e9 } }] },
      ErrorCodes.TOPIC_DENIED,
    )
    expect(forged.message).toContain(topics.deviceState)
    client.send({ type: 'produce', records: [{ seq: 1, value: 1, timestamp: Date.now() - 60_000 }] })
    await client.ackedThrough(1)
    client.close()
  })

  it('refuses oversized frames, batches and records with their own codes', async () => {
    const client = await connected('dev-big')
    client.send({ type: 'produce', records: [{ seq: 1, value: 'x'.repeat(20 * 1024), encoding: 'text' }] })
    expect((await client.error(ErrorCodes.FRAME_TOO_LARGE)).message).toContain('limits.maxFrameBytes')
    client.send({ type: 'produce', records: jsonRecords(1, 41) })
    expect((await client.error(ErrorCodes.BATCH_TOO_LARGE)).message).toContain('41 records')
    client.send({ type: 'produce', records: [{ seq: 1, value: 'y'.repeat(2000), encoding: 'text' }] })
    expect((await client.error(ErrorCodes.RECORD_TOO_LARGE)).message).toContain('limits.maxRecordBytes')
    client.send({ type: 'produce', records: jsonRecords(1, 2) })
    await client.ackedThrough(2)
    client.close()
  })

  it('refuses bad columns (§6.3) with their codes, and keeps the socket', async () => {
    const client = await connected('dev-columns', ['it.telemetry.*'])
    const binary = (columns: Record<string, unknown>, payload: Uint8Array, extra: Record<string, unknown> = {}) =>
      encodeBinaryFrame(JSON.stringify({ type: 'produce', columns, ...extra }), [payload])
    const refused = async (data: string | Uint8Array, code: string): Promise<string> => {
      const from = client.frames.length
      client.sendRaw(data, typeof data !== 'string')
      return (await client.error(code, from)).message
    }
    const three = Uint8Array.of(1, 2, 3)
    expect(
      await refused(JSON.stringify({ type: 'produce', columns: { seq: 1, sizes: [1] } }), ErrorCodes.VALUE_INVALID),
    ).toContain('binary frame')
    expect(await refused(binary({ seq: 1, sizes: [1, 1] }, three), ErrorCodes.VALUE_INVALID)).toContain(
      '1 bytes no record claims',
    )
    expect(await refused(binary({ seq: 1, sizes: [2, 2] }, three), ErrorCodes.VALUE_INVALID)).toContain(
      'runs past the end',
    )
    expect(
      await refused(binary({ seq: 1, sizes: [3], timestampDeltas: [1, 2] }, three), ErrorCodes.BAD_FRAME),
    ).toContain('timestampDeltas')
    expect(
      await refused(binary({ seq: 1, sizes: [3] }, three, { records: [{ seq: 1, value: 1 }] }), ErrorCodes.BAD_FRAME),
    ).toContain('both "records" and "columns"')
    const future = Date.now() + 2 * 3600_000
    expect(
      await refused(binary({ seq: 1, sizes: [3], timestampDeltas: [future] }, three), ErrorCodes.VALUE_INVALID),
    ).toContain('future')
    expect(
      await refused(binary({ seq: 1, sizes: [1, 2], timestampDeltas: [5, -6] }, three), ErrorCodes.VALUE_INVALID),
    ).toContain('record seq 2: timestampDeltas sum to -1')
    expect(
      await refused(binary({ seq: 1, sizes: Array.from({ length: 41 }, () => 0) }, three), ErrorCodes.BATCH_TOO_LARGE),
    ).toContain('41 records')
    expect(
      await refused(binary({ seq: 1, sizes: [2000] }, new Uint8Array(2000)), ErrorCodes.RECORD_TOO_LARGE),
    ).toContain('limits.maxRecordBytes')
    expect(
      await refused(binary({ seq: 1, topic: 'some.other', sizes: [3] }, three), ErrorCodes.TOPIC_DENIED),
    ).toContain('some.other')
    // Headers in columns: an array needs one entry per record; each entry is a record's headers (§6.4).
    expect(
      await refused(binary({ seq: 1, sizes: [1, 2], headers: [{ h: 'v' }] }, three), ErrorCodes.BAD_FRAME),
    ).toContain('2 sizes but 1 headers')
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v']))
    expect(
      await refused(binary({ seq: 1, sizes: [1, 2], headers: [null, many] }, three), ErrorCodes.BAD_FRAME),
    ).toContain('/columns/headers/1')
    // 3 value bytes + 1 + 1021 header bytes: one over maxRecordBytes (1024).
    expect(
      await refused(
        binary({ seq: 1, sizes: [3], headers: { h: 'x'.repeat(1021) } }, three),
        ErrorCodes.RECORD_TOO_LARGE,
      ),
    ).toContain('1025 bytes')

    // Still usable: three records to another allowed topic, as columns.
    client.sendRaw(binary({ seq: 1, topic: extraTopic, sizes: [1, 0, 2] }, three), true)
    const [ack] = await client.ackedThrough(3)
    expect(ack?.ranges).toMatchObject([
      { from: 1, to: 3, topic: extraTopic, partition: expect.any(Number), offset: expect.any(Number) },
    ])
    client.close()
  })

  it('refuses seqs that skip or go backwards and tells where to resume', async () => {
    const client = await connected('dev-seq')
    client.send({ type: 'produce', records: jsonRecords(1, 5) })
    await client.ackedThrough(5)
    client.send({ type: 'produce', id: 'gap', records: jsonRecords(8, 2) })
    const gap = await client.error(ErrorCodes.SEQ_GAP)
    expect(gap).toMatchObject({ id: 'gap', nextSeq: 6, watermark: 5 })
    client.send({
      type: 'produce',
      records: [
        { seq: 7, value: 1 },
        { seq: 6, value: 2 },
      ],
    })
    expect((await client.error(ErrorCodes.SEQ_BACKWARDS)).message).toContain('consecutive')
    client.send({ type: 'produce', records: jsonRecords(6, 2) })
    await client.ackedThrough(7)
    client.close()
  })

  it('enforces the topic ACL of the token and refuses unknown topics', async () => {
    const client = await connected('dev-acl', ['it.telemetry.*', 'it.missing'])
    client.send({ type: 'produce', records: [{ seq: 1, topic: 'some.other.topic', value: 1 }] })
    expect((await client.error(ErrorCodes.TOPIC_DENIED)).message).toContain('some.other.topic')
    client.send({ type: 'produce', records: [{ seq: 1, topic: 'it.missing', value: 1 }] })
    expect((await client.error(ErrorCodes.TOPIC_UNKNOWN)).message).toContain('it.missing')
    client.send({ type: 'produce', records: [{ seq: 1, topic: extraTopic, value: 1 }] })
    const [ack] = await client.ackedThrough(1)
    expect(ack?.ranges[0]?.topic).toBe(extraTopic)
    client.close()
  })

  it('applies credits and the rate limit per device without disturbing other devices', async () => {
    const greedy = await connected('dev-greedy')
    const calm = await connected('dev-calm')
    // 30 + 30 unacked records > 40 credits: the first is still being committed when the second arrives.
    greedy.send({ type: 'produce', records: jsonRecords(1, 30) })
    greedy.send({ type: 'produce', records: jsonRecords(31, 30) })
    expect((await greedy.error(ErrorCodes.CREDITS_EXCEEDED)).retryable).toBe(true)
    // 200/s with a burst of 200: six frames of 40 within a second exceed it.
    let seq = 61
    for (let i = 0; i < 6; i++) {
      greedy.send({ type: 'produce', records: jsonRecords(seq, 40) })
      seq += 40
    }
    const limited = await greedy.error(ErrorCodes.RATE_LIMITED)
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    calm.send({ type: 'produce', records: jsonRecords(1, 10) })
    await calm.ackedThrough(10)
    expect(greedy.closed).toBeUndefined()
    greedy.close()
    calm.close()
  })

  it('closes a session whose token expires with 4403, and keeps one that refreshed it', async () => {
    const expiring = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-exp', { expiresIn: 2 }) })
    await expiring.hello()
    const refreshing = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-ref', { expiresIn: 2 }) })
    await refreshing.hello()
    refreshing.send({ type: 'token', token: await deviceToken('dev-ref', { expiresIn: 3600 }) })
    await refreshing.waitFor((f) => f.type === 'token-accepted')
    refreshing.send({ type: 'token', token: await deviceToken('someone-else') })
    expect((await refreshing.error(ErrorCodes.TOKEN_DEVICE_MISMATCH)).message).toContain('someone-else')
    // A refused refresh leaves the token in force: the socket stays.
    refreshing.send({ type: 'token', token: 'not-a-jwt' })
    expect((await refreshing.error(ErrorCodes.TOKEN_REFRESH_REFUSED)).message).toContain(ErrorCodes.TOKEN_INVALID)

    const closed = await expiring.waitClosed(10_000)
    expect(closed.code).toBe(CloseCodes.TOKEN_EXPIRED)
    expect(closed.reason).toContain(ErrorCodes.TOKEN_EXPIRED)
    refreshing.send({ type: 'produce', records: jsonRecords(1, 1) })
    const acks: AckFrame[] = await refreshing.ackedThrough(1)
    expect(acks.length).toBeGreaterThan(0)
    expect(refreshing.closed).toBeUndefined()
    refreshing.close()
  })
})
