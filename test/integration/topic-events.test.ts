/**
 * GET /v1/topics/{topic}/events against a real bridge and Kafka: recent
 * records first, new ones as they commit, Last-Event-ID resume without a gap
 * or a duplicate, the query-string token, and the refusals.
 */

import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient, jsonRecords } from '../support/device-client.ts'

interface Event {
  id?: string
  event?: string
  data: { partition: number; offset: string; key: string | null; value: unknown; headers: Record<string, string> }
}

/** An open event stream, parsed as it arrives. */
class EventStream {
  readonly events: Event[] = []
  readonly status: Promise<number>
  readonly #abort = new AbortController()
  #waiters: (() => void)[] = []

  constructor(url: string, headers: Record<string, string> = {}) {
    const response = fetch(url, { headers, signal: this.#abort.signal })
    this.status = response.then((r) => r.status)
    void response
      .then(async (r) => {
        if (!r.body) return
        const decoder = new TextDecoder()
        let buffer = ''
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            this.#parse(buffer.slice(0, end))
            buffer = buffer.slice(end + 2)
          }
        }
      })
      .catch(() => {})
  }

  #parse(block: string): void {
    const fields: Record<string, string> = {}
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || !line.includes(':')) continue
      const at = line.indexOf(':')
      fields[line.slice(0, at)] = line.slice(at + 1).trimStart()
    }
    if (fields.data === undefined) return
    this.events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) } as Event)
    for (const wake of this.#waiters.splice(0)) wake()
  }

  async waitFor(count: number, timeoutMs = 20_000): Promise<Event[]> {
    const deadline = Date.now() + timeoutMs
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`got ${this.events.length} of ${count} events`)
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
    return this.events
  }

  close(): void {
    this.#abort.abort()
  }
}

describe('GET /v1/topics/{topic}/events', () => {
  const topics = isolatedTopics()
  let bridge: Bridge
  let token: string

  beforeAll(async () => {
    bridge = await startTestBridge(topics)
    token = await deviceToken('viewer-1', { topics: [topics.records] })
  })

  afterAll(async () => {
    await bridge?.close()
    await dropTopics(topics)
  })

  async function produce(deviceId: string, values: unknown[]): Promise<void> {
    const response = await fetch(`${bridge.url}/topics/${topics.records}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await deviceToken(deviceId)}`,
        'content-type': 'application/vnd.kafka.json.v2+json',
      },
      body: JSON.stringify({ records: values.map((value) => ({ value })) }),
    })
    expect(response.status).toBe(200)
  }

  const eventsUrl = (query = '') => `${bridge.url}/v1/topics/${encodeURIComponent(topics.records)}/events${query}`

  it('streams recent records, then new ones, each with a resume id', async () => {
    await produce('sensor-a', [{ n: 1 }, { n: 2 }])
    const stream = new EventStream(eventsUrl(), { authorization: `Bearer ${token}` })
    try {
      expect(await stream.status).toBe(200)
      await stream.waitFor(2)
      await produce('sensor-b', [{ n: 3 }])
      const events = await stream.waitFor(3)
      expect(events.map((e) => e.event)).toEqual(['record', 'record', 'record'])
      expect(events.map((e) => e.data.value)).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }]))
      expect(events.find((e) => (e.data.value as { n: number }).n === 3)?.data.key).toBe('sensor-b')
      for (const e of events) expect(e.id).toMatch(/^\d+:\d+(,\d+:\d+)*$/)
    } finally {
      stream.close()
    }
  })

  it('resumes after Last-Event-ID with neither a gap nor a duplicate, token in the query', async () => {
    const first = new EventStream(eventsUrl(`?tail=0&access_token=${token}`))
    // Headers come once the start positions are read: records produced from now on are streamed.
    expect(await first.status).toBe(200)
    await produce('sensor-c', [{ m: 1 }, { m: 2 }])
    const seen = await first.waitFor(2)
    first.close()
    const lastId = seen[seen.length - 1]?.id as string
    await produce('sensor-c', [{ m: 3 }, { m: 4 }])
    const resumed = new EventStream(eventsUrl(`?access_token=${token}`), { 'last-event-id': lastId })
    try {
      const events = await resumed.waitFor(2)
      await new Promise((r) => setTimeout(r, 500))
      expect(resumed.events.map((e) => e.data.value)).toEqual([{ m: 3 }, { m: 4 }])
      expect(events.every((e) => e.data.key === 'sensor-c')).toBe(true)
    } finally {
      resumed.close()
    }
  })

  it('streams transactional device writes frame after frame, past their commit markers', async () => {
    const stream = new EventStream(eventsUrl(`?tail=0&access_token=${token}`))
    expect(await stream.status).toBe(200)
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('sensor-ws') })
    try {
      await client.hello()
      for (let frame = 0; frame < 4; frame++) {
        client.send({ type: 'produce', records: jsonRecords(frame * 3 + 1, 3) })
        await client.ackedThrough(frame * 3 + 3)
        await stream.waitFor(frame * 3 + 3)
      }
      expect(stream.events.map((e) => (e.data.value as { seq: number }).seq)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
      ])
    } finally {
      client.close()
      stream.close()
    }
  })

  it('refuses a missing token, a topic the token does not list, and a bad Last-Event-ID', async () => {
    const none = await fetch(eventsUrl())
    expect(none.status).toBe(401)
    expect(((await none.json()) as { code: string }).code).toBe('E_AUTH_REQUIRED')
    const other = await fetch(`${bridge.url}/v1/topics/${topics.deviceState}/events?access_token=${token}`)
    expect(other.status).toBe(403)
    expect(((await other.json()) as { code: string }).code).toBe('E_TOPIC_DENIED')
    const bad = await fetch(eventsUrl(`?access_token=${token}`), { headers: { 'last-event-id': 'nope' } })
    expect(bad.status).toBe(400)
    const wide = await deviceToken('viewer-2', { topics: ['it-*'] })
    const unknown = await fetch(`${bridge.url}/v1/topics/it-nothing-here/events?access_token=${wide}`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { code: string }).code).toBe('E_TOPIC_UNKNOWN')
  })
})
