import { ErrorCodes, type RecordsFrame, type SubscribedFrame } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient } from '../support/device-client.ts'
import { brokers, readTopic } from '../support/kafka.ts'

// Kafka → device: addressed commands, resume on another bridge, request/reply.
describe('commands, subscriptions and request/reply', () => {
  const topics = isolatedTopics()
  let a: Bridge
  let b: Bridge
  let producer: Producer<Buffer, Buffer, Buffer, Buffer>

  beforeAll(async () => {
    a = await startTestBridge(topics)
    b = await startTestBridge(topics)
    producer = new Producer({
      clientId: 'it-commands',
      bootstrapBrokers: brokers(),
      idempotent: true,
      acks: ProduceAcks.ALL,
    })
  })
  afterAll(async () => {
    await producer?.close()
    await Promise.all([a?.close(), b?.close()])
    await dropTopics(topics)
  })

  const command = (key: string, text: string) => ({
    topic: topics.commands,
    key: Buffer.from(key),
    value: Buffer.from(text),
  })

  async function subscribed(bridge: Bridge, deviceId: string, groups: string[] = []): Promise<DeviceClient> {
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken(deviceId, { groups }) })
    await client.hello()
    client.send({ type: 'subscribe', topics: [topics.commands] })
    await client.waitFor((f): f is SubscribedFrame => f.type === 'subscribed')
    return client
  }

  function delivered(client: DeviceClient): { text: string; offset: number; partition: number }[] {
    return client.frames
      .filter((f): f is RecordsFrame => f.type === 'records')
      .flatMap((f) => f.records.map((r) => ({ text: r.value ?? '', offset: r.offset, partition: r.partition })))
  }

  async function waitDelivered(client: DeviceClient, count: number): Promise<void> {
    const until = Date.now() + 20_000
    while (delivered(client).length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
  }

  it('delivers a command only to its device, a group command to the group, a broadcast to all', async () => {
    const one = await subscribed(a, 'cmd-one', ['line-1'])
    const two = await subscribed(b, 'cmd-two', ['line-1'])
    const three = await subscribed(a, 'cmd-three', ['line-2'])
    await producer.send({
      messages: [
        command('cmd-one', 'for one'),
        command('group:line-1', 'for line 1'),
        command('cmd-three', 'for three'),
        command('*', 'for everyone'),
        command('cmd-nobody', 'for nobody here'),
      ],
    })
    await waitDelivered(one, 3)
    await waitDelivered(two, 2)
    await waitDelivered(three, 2)
    await new Promise((r) => setTimeout(r, 300))
    const texts = (c: DeviceClient) =>
      delivered(c)
        .map((d) => d.text)
        .sort()
    expect(texts(one)).toEqual(['for everyone', 'for line 1', 'for one'])
    expect(texts(two)).toEqual(['for everyone', 'for line 1'])
    expect(texts(three)).toEqual(['for everyone', 'for three'])
    for (const c of [one, two, three]) c.close()
  })

  it('resumes on another bridge after the last acked record: nothing lost, only the unacked tail repeated', async () => {
    const deviceId = 'cmd-mover'
    const first = await subscribed(a, deviceId)
    await producer.send({ messages: Array.from({ length: 10 }, (_, i) => command(deviceId, `c${i}`)) })
    // Broadcasts from earlier tests are within the lookback too; this test follows its own records.
    const mine = (c: DeviceClient) => delivered(c).filter((d) => /^c\d+$/.test(d.text))
    const until0 = Date.now() + 20_000
    while (mine(first).length < 10 && Date.now() < until0) await new Promise((r) => setTimeout(r, 50))
    const got = mine(first)
    expect(got.map((d) => d.text)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`))
    // Ack the first six only.
    const sixth = got[5] as { offset: number; partition: number }
    first.send({
      type: 'records-ack',
      positions: [{ topic: topics.commands, partition: sixth.partition, offset: sixth.offset }],
    })
    // The stored position is in Kafka before the device moves.
    const until = Date.now() + 20_000
    let stored = false
    while (!stored && Date.now() < until) {
      const state = await readTopic(topics.deviceState, { idleMs: 300, readCommitted: false })
      stored = state.some(
        (m) =>
          m.key.toString() === `${deviceId}#sub#${topics.commands}` &&
          m.value.toString().includes(String(sixth.offset + 1)),
      )
    }
    expect(stored).toBe(true)
    first.close()
    await first.waitClosed()
    await producer.send({ messages: [command(deviceId, 'c10'), command(deviceId, 'c11')] })

    const second = await subscribed(b, deviceId)
    const until1 = Date.now() + 20_000
    while (mine(second).length < 6 && Date.now() < until1) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 300))
    expect(mine(second).map((d) => d.text)).toEqual(['c6', 'c7', 'c8', 'c9', 'c10', 'c11'])
    second.close()
  })

  it('answers a request with the device reply, times out without a device, and reaches an offline device later', async () => {
    const operator = await deviceToken('ops-console', { groups: ['operators'] })
    const device = await subscribed(a, 'cmd-scorer')
    // The device answers every request it gets.
    device.ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as RecordsFrame
      if (frame.type !== 'records') return
      for (const record of frame.records) {
        const correlationId = record.headers['kafka-edge.correlation-id']
        if (!correlationId) continue
        const { request } = JSON.parse(record.value ?? '{}') as { request: { input: { x: number } } }
        device.send({ type: 'reply', correlationId, ok: true, result: { y: request.input.x * 2 } })
      }
    })
    const post = (id: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${b.url}/v1/devices/${id}/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      })

    // Through bridge b, while the device is connected to bridge a.
    const answered = await post('cmd-scorer', { request: { type: 'predict', input: { x: 21 } } })
    expect(answered.status).toBe(200)
    expect(await answered.json()).toMatchObject({ deviceId: 'cmd-scorer', ok: true, result: { y: 42 } })

    const timedOut = await post('cmd-absent', { request: { type: 'predict', input: { x: 1 } }, timeoutMs: 800 })
    expect(timedOut.status).toBe(504)
    expect(((await timedOut.json()) as { code: string }).code).toBe(ErrorCodes.REQUEST_TIMEOUT)

    const deferred = await post(
      'cmd-later',
      { request: { type: 'predict', input: { x: 5 } }, timeoutMs: 60_000 },
      { prefer: 'respond-async' },
    )
    expect(deferred.status).toBe(202)
    const location = deferred.headers.get('location') as string
    const poll = () => fetch(`${b.url}${location}`, { headers: { authorization: `Bearer ${operator}` } })
    expect((await poll()).status).toBe(202)

    // The device comes online later, gets the request from Kafka, answers.
    const later = await subscribed(a, 'cmd-later')
    await waitDelivered(later, 1)
    const request = delivered(later)[0] as { text: string }
    const { correlationId } = JSON.parse(request.text) as { correlationId: string }
    later.send({ type: 'reply', correlationId, ok: true, result: { y: 10 } })
    let final = await poll()
    for (let i = 0; i < 100 && final.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 100))
      final = await poll()
    }
    expect(final.status).toBe(200)
    expect(await final.json()).toMatchObject({ ok: true, result: { y: 10 } })

    const notOperator = await fetch(`${b.url}/v1/devices/x/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await deviceToken('plain')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ request: { type: 'predict' } }),
    })
    expect(notOperator.status).toBe(403)
    device.close()
    later.close()
  })

  it('refuses subscriptions the token does not open', async () => {
    const client = await DeviceClient.connect(a.url, { token: await deviceToken('cmd-nosy') })
    await client.hello()
    const denied = await client.sendExpectingError(
      { type: 'subscribe', topics: [topics.deviceState] },
      ErrorCodes.TOPIC_DENIED,
    )
    expect(denied.message).toContain(topics.deviceState)
    client.close()
  })
})
