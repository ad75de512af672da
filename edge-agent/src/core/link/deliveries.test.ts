import { describe, expect, it } from 'vitest'
import { FakeLink, settle } from '../../../test/support/fake-link.ts'
import type { DeliveredRecord } from '../../protocol/delivery-v1.ts'
import { Deliveries } from './deliveries.ts'
import { predictHandler, RequestHandlers } from './requests.ts'

const record = (offset: number, value: unknown, headers: Record<string, string> = {}): DeliveredRecord => ({
  topic: 'edge.commands',
  partition: 1,
  offset,
  key: 'dev-1',
  value: typeof value === 'string' ? value : JSON.stringify(value),
  encoding: 'text',
  headers,
  timestamp: 0,
})

const request = (offset: number, correlationId: string, req: object, expiresAt = Date.now() + 60_000) =>
  record(
    offset,
    { correlationId, replyTopic: 'edge.replies', expiresAt, request: req },
    {
      'kafka-edge.correlation-id': correlationId,
    },
  )

function setup() {
  const link = new FakeLink()
  const requests = new RequestHandlers()
  let predictions = 0
  requests.register(
    'predict',
    predictHandler({
      current: { name: 'wine' },
      predict: async (input) => {
        predictions++
        return { outputs: { echo: input, vector: new Float32Array([1, 2]) }, model: { name: 'wine', version: 1 } }
      },
    }),
  )
  const deliveries = new Deliveries({
    link: link as never,
    topics: ['edge.commands'],
    requests,
    clock: { now: () => Date.now() },
  })
  deliveries.start()
  return { link, deliveries, predictions: () => predictions }
}

describe('deliveries', () => {
  it('subscribes after every welcome', () => {
    const { link } = setup()
    link.welcome()
    link.welcome()
    expect(link.sent).toEqual([
      { type: 'subscribe', topics: ['edge.commands'] },
      { type: 'subscribe', topics: ['edge.commands'] },
    ])
  })

  it('hands records to handlers in order and acks the last offset once they are done', async () => {
    const { link, deliveries } = setup()
    const seen: number[] = []
    deliveries.onRecord(async (r) => {
      await settle()
      seen.push(r.offset)
      if (r.offset === 4) throw new Error('handler bug')
    })
    link.deliver({ type: 'records', records: [record(3, 'a'), record(4, 'b'), record(5, 'c')] })
    expect(link.sent).toEqual([])
    await settle()
    await deliveries.stop()
    expect(seen).toEqual([3, 4, 5])
    expect(link.sent).toEqual([
      { type: 'records-ack', positions: [{ topic: 'edge.commands', partition: 1, offset: 5 }] },
    ])
    expect(deliveries.stats()).toMatchObject({ records: 3, handlerErrors: 1, acked: { 'edge.commands/1': 5 } })
  })

  it('answers requests, skips expired ones, refuses unknown types, and replays a redelivered answer', async () => {
    const { link, deliveries, predictions } = setup()
    link.deliver({
      type: 'records',
      records: [
        request(1, 'c-1', { type: 'predict', input: { x: 1 } }),
        request(2, 'c-2', { type: 'predict', input: { x: 2 } }, Date.now() - 1),
        request(3, 'c-3', { type: 'reboot' }),
        request(4, 'c-4', { type: 'predict', model: 'other', input: {} }),
        record(5, 'not json', { 'kafka-edge.correlation-id': 'c-5' }),
        request(6, 'c-1', { type: 'predict', input: { x: 1 } }),
      ],
    })
    await deliveries.stop()
    const replies = link.sent.filter((f) => f.type === 'reply')
    expect(replies).toEqual([
      {
        type: 'reply',
        correlationId: 'c-1',
        ok: true,
        result: { outputs: { echo: { x: 1 }, vector: [1, 2] }, model: { name: 'wine', version: 1 } },
      },
      {
        type: 'reply',
        correlationId: 'c-3',
        ok: false,
        error: expect.objectContaining({ code: 'E_REQUEST_TYPE_UNKNOWN' }),
      },
      {
        type: 'reply',
        correlationId: 'c-4',
        ok: false,
        error: expect.objectContaining({ code: 'E_MODEL_NOT_RUNNING' }),
      },
      { type: 'reply', correlationId: 'c-5', ok: false, error: expect.objectContaining({ code: 'E_REQUEST_INVALID' }) },
      replies[0],
    ])
    expect(predictions()).toBe(1)
    expect(link.sent.at(-1)).toEqual({
      type: 'records-ack',
      positions: [{ topic: 'edge.commands', partition: 1, offset: 6 }],
    })
    expect(deliveries.stats().requests).toEqual({ answered: 2, failed: 3, expired: 1, invalid: 0 })
  })

  it('does not ack a request whose reply could not go out, so the bridge delivers it again', async () => {
    const { link, deliveries } = setup()
    link.online = false
    link.deliver({ type: 'records', records: [request(1, 'c-1', { type: 'predict', input: {} })] })
    await deliveries.stop()
    expect(link.sent).toEqual([])
    expect(deliveries.stats().acked).toEqual({})
  })

  it('takes no more frames once stopped', async () => {
    const { link, deliveries } = setup()
    await deliveries.stop()
    link.deliver({ type: 'records', records: [record(1, 'a')] })
    await settle()
    expect(link.sent).toEqual([])
    expect(deliveries.stats().records).toBe(0)
  })
})
