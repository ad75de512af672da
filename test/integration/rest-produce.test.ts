import { request as httpRequest, type ClientRequest } from 'node:http'
import { Admin } from '@platformatic/kafka'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { brokers, createTopics, deleteTopics, keyed, type RawMessage, readTopic } from '../support/kafka.ts'

interface Report {
  error_code: number
  cluster_id?: string
  topic_name?: string
  partition_id?: number
  offset?: number
  timestamp?: string
  key?: { type: string; size: number } | null
  value?: { type: string; size: number } | null
  message?: string
  code?: string
}

const v2json = 'application/vnd.kafka.json.v2+json'
const v2binary = 'application/vnd.kafka.binary.v2+json'

async function post(
  url: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const payload = typeof body === 'string' ? body : new Uint8Array(body)
  const response = await fetch(`${url}${path}`, { method: 'POST', headers, body: payload })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} }
}

/** A chunked v3 request whose delivery reports are read while records are still being sent. */
class StreamedProduce {
  readonly reports: Report[] = []
  readonly request: ClientRequest
  readonly status: Promise<number>
  readonly done: Promise<void>
  #buffer = ''
  #waiters: (() => void)[] = []

  constructor(url: string, path: string, headers: Record<string, string>) {
    const { hostname, port } = new URL(url)
    this.request = httpRequest({
      hostname,
      port,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers },
    })
    let ended!: () => void
    this.done = new Promise((resolve) => {
      ended = resolve
    })
    this.status = new Promise((resolve, reject) => {
      this.request.on('error', reject)
      this.request.on('response', (response) => {
        resolve(response.statusCode ?? 0)
        response.on('data', (chunk: Buffer) => {
          this.#buffer += chunk.toString('utf8')
          let newline = this.#buffer.indexOf('\n')
          while (newline >= 0) {
            this.reports.push(JSON.parse(this.#buffer.slice(0, newline)) as Report)
            this.#buffer = this.#buffer.slice(newline + 1)
            newline = this.#buffer.indexOf('\n')
          }
          for (const w of this.#waiters.splice(0)) w()
        })
        response.on('end', () => {
          ended()
          for (const w of this.#waiters.splice(0)) w()
        })
      })
    })
    this.request.flushHeaders()
  }

  write(text: string): void {
    this.request.write(text)
  }

  end(): void {
    this.request.end()
  }

  async waitReports(n: number, timeoutMs = 30_000): Promise<Report[]> {
    const deadline = Date.now() + timeoutMs
    while (this.reports.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.reports.length} of ${n} reports arrived`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.reports
  }
}

function byDevice(messages: RawMessage[], deviceId: string): RawMessage[] {
  return messages.filter((m) => m.key?.toString() === deviceId)
}

function headersOf(message: RawMessage): Record<string, string> {
  return Object.fromEntries([...message.headers].map(([k, v]) => [k.toString(), v.toString()]))
}

describe('REST produce (Confluent REST Proxy compatible)', () => {
  const topics = isolatedTopics()
  /** A topic of the device's own, allowed by its token. */
  const extraTopic = `${topics.records}-extra`
  let bridge: Bridge
  let clusterId: string
  let v3: string

  beforeAll(async () => {
    await createTopics([{ name: extraTopic }])
    bridge = await startTestBridge(topics, { limits: { maxRecordBytes: 4096, maxFrameBytes: 64 * 1024 } })
    const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: brokers() })
    clusterId = (await admin.metadata({ topics: [] })).id
    await admin.close()
    v3 = `/v3/clusters/${clusterId}/topics/${topics.records}/records`
  })
  afterAll(async () => {
    await bridge?.close()
    await dropTopics(topics)
    await deleteTopics([extraTopic]).catch(() => {})
  })

  const auth = async (deviceId: string, options: Parameters<typeof deviceToken>[1] = {}) => ({
    authorization: `Bearer ${await deviceToken(deviceId, options)}`,
  })

  it('v3: one record gets its delivery report with the real offset; the key is the device id', async () => {
    const headers = { ...(await auth('rest-a')), 'content-type': 'application/json' }
    const sent = [
      { value: { type: 'JSON', data: { temp: 21.5 } }, key: { type: 'STRING', data: 'client-key' } },
      {
        value: { type: 'STRING', data: 'plain ünïcode' },
        headers: [{ name: 'unit', value: Buffer.from('celsius').toString('base64') }],
        timestamp: '2024-05-01T12:00:00.000Z',
      },
      { value: { type: 'BINARY', data: Buffer.from([0, 1, 254, 255]).toString('base64') } },
    ]
    const reports: Report[] = []
    for (const record of sent) {
      const response = await post(bridge.url, v3, JSON.stringify(record), headers)
      expect(response.status).toBe(200)
      reports.push(response.body as unknown as Report)
    }
    expect(reports[0]).toMatchObject({
      error_code: 200,
      cluster_id: clusterId,
      topic_name: topics.records,
      key: { type: 'BINARY', size: 'rest-a'.length },
      value: { type: 'JSON', size: JSON.stringify({ temp: 21.5 }).length },
    })
    expect(reports[1]?.timestamp).toBe('2024-05-01T12:00:00.000Z')
    expect(reports[2]?.value).toEqual({ type: 'BINARY', size: 4 })

    const messages = byDevice(await readTopic(topics.records, { until: keyed('rest-a', 3) }), 'rest-a')
    expect(messages).toHaveLength(3)
    const expected = [Buffer.from('{"temp":21.5}'), Buffer.from('plain ünïcode'), Buffer.from([0, 1, 254, 255])]
    messages.forEach((m, i) => {
      expect(m.value.equals(expected[i] as Buffer)).toBe(true)
      expect({ partition: m.partition, offset: Number(m.offset) }).toEqual({
        partition: reports[i]?.partition_id,
        offset: reports[i]?.offset,
      })
    })
    expect(headersOf(messages[0] as RawMessage)).toEqual({ 'kafka-edge.client-key': 'client-key' })
    expect(headersOf(messages[1] as RawMessage)).toEqual({ unit: 'celsius' })
    expect(Number(messages[1]?.timestamp)).toBe(Date.parse('2024-05-01T12:00:00.000Z'))
  })

  it('v3 streamed: 200 records in one chunked request, reports streamed in order as they complete', async () => {
    const stream = new StreamedProduce(bridge.url, v3, await auth('rest-stream'))
    const record = (n: number) => JSON.stringify({ value: { type: 'JSON', data: { n } } })
    // First half: concatenated without separators, split mid-record across chunks.
    const firstHalf = Array.from({ length: 100 }, (_, i) => record(i + 1)).join('')
    stream.write(firstHalf.slice(0, 1001))
    stream.write(firstHalf.slice(1001))
    expect(await stream.status).toBe(200)
    // Reports arrive before the request ends: the stream is answered as it goes.
    await stream.waitReports(100)
    stream.write(`\n${Array.from({ length: 100 }, (_, i) => record(i + 101)).join('\n  ')}\r\n`)
    stream.end()
    await stream.done
    const reports = stream.reports
    expect(reports).toHaveLength(200)
    expect(reports.every((r) => r.error_code === 200)).toBe(true)

    const messages = byDevice(await readTopic(topics.records, { until: keyed('rest-stream', 200) }), 'rest-stream')
    expect(messages.map((m) => JSON.parse(m.value.toString()).n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    messages.forEach((m, i) => {
      expect(reports[i]?.partition_id).toBe(m.partition)
      expect(reports[i]?.offset).toBe(Number(m.offset))
    })
  })

  it('v3 streamed: a bad record in the middle gets its own error report and the stream continues', async () => {
    const stream = new StreamedProduce(bridge.url, v3, await auth('rest-mixed'))
    stream.write('{"value":{"type":"JSON","data":1}}{"value":{"type":"JSON","data":2}}')
    stream.write('{"value": nope}')
    stream.write('{"value":{"type":"BINARY","data":"not base64!"}}')
    stream.write(`{"value":{"type":"STRING","data":"${'x'.repeat(5000)}"}}`)
    stream.write('{"value":{"type":"AVRO","data":1}}{"value":{"type":"JSON","data":3}}')
    stream.end()
    await stream.done
    expect(stream.reports.map((r) => [r.error_code, r.code])).toEqual([
      [200, undefined],
      [200, undefined],
      [400, 'E_BAD_REQUEST'],
      [400, 'E_VALUE_INVALID'],
      [413, 'E_RECORD_TOO_LARGE'],
      [400, 'E_BAD_REQUEST'],
      [200, undefined],
    ])
    const messages = byDevice(await readTopic(topics.records, { idleMs: 1500 }), 'rest-mixed')
    expect(messages.map((m) => m.value.toString())).toEqual(['1', '2', '3'])
  })

  it('v3 streamed: a client that hangs up mid-stream harms nothing', async () => {
    const stream = new StreamedProduce(bridge.url, v3, await auth('rest-hangup'))
    stream.write('{"value":{"data":1}}')
    await stream.waitReports(1)
    stream.request.destroy()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200)
    const again = await post(bridge.url, v3, '{"value":{"data":2}}', {
      ...(await auth('rest-hangup')),
      'content-type': 'application/json',
    })
    expect(again.status).toBe(200)
  })

  it('v3 streamed: garbage between records ends the stream with an error report', async () => {
    const stream = new StreamedProduce(bridge.url, v3, await auth('rest-garbage'))
    stream.write('{"value":{"data":1}} oops {"value":{"data":2}}')
    stream.end()
    await stream.done
    expect(stream.reports.map((r) => [r.error_code, r.code])).toEqual([
      [200, undefined],
      [400, 'E_BAD_REQUEST'],
    ])
  })

  it('v2: json and binary embedded formats answer with the real offsets', async () => {
    const headers = await auth('rest-v2')
    const json = await post(
      bridge.url,
      `/topics/${topics.records}`,
      JSON.stringify({ records: [{ value: { a: 1 } }, { key: 'ignored', value: [1, 2] }] }),
      { ...headers, 'content-type': v2json },
    )
    expect(json.status).toBe(200)
    expect(json.headers.get('content-type')).toContain('application/vnd.kafka.v2+json')
    const binary = await post(
      bridge.url,
      `/topics/${topics.records}`,
      JSON.stringify({ records: [{ value: Buffer.from('bytes!').toString('base64') }] }),
      { ...headers, 'content-type': v2binary },
    )
    expect(binary.status).toBe(200)
    expect(json.body).toMatchObject({ key_schema_id: null, value_schema_id: null })
    const offsets = [...(json.body.offsets as object[]), ...(binary.body.offsets as object[])] as {
      partition: number
      offset: number
      error_code: null
    }[]
    const messages = byDevice(await readTopic(topics.records, { until: keyed('rest-v2', 3) }), 'rest-v2')
    expect(messages.map((m) => m.value.toString())).toEqual(['{"a":1}', '[1,2]', 'bytes!'])
    messages.forEach((m, i) => {
      expect(offsets[i]).toEqual({ partition: m.partition, offset: Number(m.offset), error_code: null, error: null })
    })
    expect(headersOf(messages[1] as RawMessage)).toEqual({ 'kafka-edge.client-key': '"ignored"' })
  })

  it('Idempotency-Key: a retry, also to a second bridge instance, returns the same offsets and writes nothing', async () => {
    const headers = { ...(await auth('rest-idem')), 'idempotency-key': 'order-42' }
    const body = JSON.stringify({ records: [{ value: { order: 42 } }, { value: { order: 43 } }] })
    const first = await post(bridge.url, `/topics/${topics.records}`, body, { ...headers, 'content-type': v2json })
    expect(first.status).toBe(200)
    expect(first.headers.get('idempotency-replayed')).toBeNull()
    const again = await post(bridge.url, `/topics/${topics.records}`, body, { ...headers, 'content-type': v2json })
    expect(again.body).toEqual(first.body)
    expect(again.headers.get('idempotency-replayed')).toBe('true')

    const v3Headers = { ...headers, 'idempotency-key': 'reading-7', 'content-type': 'application/json' }
    const record = JSON.stringify({ value: { type: 'JSON', data: { reading: 7 } } })
    const v3First = await post(bridge.url, v3, record, v3Headers)
    expect(v3First.status).toBe(200)

    const second = await startTestBridge(topics)
    try {
      const other = await post(second.url, `/topics/${topics.records}`, body, { ...headers, 'content-type': v2json })
      expect(other.status).toBe(200)
      expect(other.body).toEqual(first.body)
      expect(other.headers.get('idempotency-replayed')).toBe('true')
      const v3Other = await post(second.url, v3, record, v3Headers)
      expect(v3Other.body).toEqual(v3First.body)
      // A new key on the second instance writes again, after the first instance's records.
      const fresh = await post(second.url, v3, record, { ...v3Headers, 'idempotency-key': 'reading-8' })
      expect(fresh.status).toBe(200)
    } finally {
      await second.close()
    }
    const messages = byDevice(await readTopic(topics.records, { until: keyed('rest-idem', 4) }), 'rest-idem')
    expect(messages.map((m) => m.value.toString())).toEqual([
      '{"order":42}',
      '{"order":43}',
      '{"reading":7}',
      '{"reading":7}',
    ])
    expect(Number(messages[0]?.offset)).toBe((first.body.offsets as { offset: number }[])[0]?.offset)
  })

  it('Idempotency-Key reused for another topic → 422 E_IDEMPOTENCY_KEY_REUSED', async () => {
    const headers = {
      ...(await auth('rest-reuse', { topics: [extraTopic] })),
      'idempotency-key': 'same-key',
      'content-type': 'application/json',
    }
    const record = JSON.stringify({ value: { data: 1 } })
    expect((await post(bridge.url, v3, record, headers)).status).toBe(200)
    const reused = await post(bridge.url, `/v3/clusters/${clusterId}/topics/${extraTopic}/records`, record, headers)
    expect(reused.status).toBe(422)
    expect(reused.body.code).toBe('E_IDEMPOTENCY_KEY_REUSED')
  })

  it('an expired Idempotency-Key is deleted from the device-state topic (a tombstone), and a retry then writes again', async () => {
    const shortLived = await startTestBridge(topics, { exactlyOnce: { idempotencyTtlMs: 1500 } })
    try {
      const headers = { ...(await auth('rest-expire')), 'idempotency-key': 'once', 'content-type': 'application/json' }
      const record = JSON.stringify({ value: { data: 'expires' } })
      const first = await post(shortLived.url, v3, record, headers)
      expect(first.status).toBe(200)
      const isMine = (m: RawMessage) =>
        m.key.toString().startsWith('rest-expire') && m.key.toString().includes('#idem#')
      const state = (await readTopic(topics.deviceState, { until: (ms) => ms.filter(isMine).length >= 2 })).filter(
        isMine,
      )
      const [stored, tombstone] = state as [RawMessage, RawMessage]
      expect(JSON.parse(stored.value.toString()).idem).toBeDefined()
      expect(tombstone.key.toString()).toBe(stored.key.toString())
      // No value at all: Kafka's tombstone, which compaction then drops with the record it follows.
      expect(tombstone.value ?? null).toBeNull()

      // Expired: the same key is a new request, not a replay.
      const again = await post(shortLived.url, v3, record, headers)
      expect(again.status).toBe(200)
      expect(again.headers.get('idempotency-replayed')).toBeNull()
      const messages = byDevice(await readTopic(topics.records, { until: keyed('rest-expire', 2) }), 'rest-expire')
      expect(messages).toHaveLength(2)
    } finally {
      await shortLived.close()
    }
  })

  describe('errors: a code, a message and a Confluent-style body', () => {
    const record = JSON.stringify({ value: { type: 'JSON', data: 1 } })
    const cases: {
      name: string
      path?: () => string
      body?: () => string | Buffer
      headers?: () => Promise<Record<string, string>>
      status: number
      code: string
    }[] = [
      {
        name: 'no token',
        headers: async () => ({ 'content-type': 'application/json' }),
        status: 401,
        code: 'E_AUTH_REQUIRED',
      },
      {
        name: 'not a bearer token',
        headers: async () => ({ authorization: 'Basic dXNlcjpwYXNz', 'content-type': 'application/json' }),
        status: 401,
        code: 'E_TOKEN_INVALID',
      },
      {
        name: 'bad token',
        headers: async () => ({
          ...(await auth('rest-e', { secret: 'another-secret-another-secret-another' })),
          'content-type': 'application/json',
        }),
        status: 401,
        code: 'E_TOKEN_INVALID',
      },
      {
        name: 'expired token',
        headers: async () => ({ ...(await auth('rest-e', { expiresIn: -60 })), 'content-type': 'application/json' }),
        status: 401,
        code: 'E_TOKEN_EXPIRED',
      },
      {
        name: 'topic not allowed',
        path: () => `/v3/clusters/${clusterId}/topics/${topics.commands}/records`,
        status: 403,
        code: 'E_TOPIC_DENIED',
      },
      {
        name: 'unknown topic',
        path: () => `/v3/clusters/${clusterId}/topics/missing.nothing/records`,
        headers: async () => ({
          ...(await auth('rest-e', { topics: ['missing.*'] })),
          'content-type': 'application/json',
        }),
        status: 404,
        code: 'E_TOPIC_UNKNOWN',
      },
      {
        name: 'wrong cluster id',
        path: () => `/v3/clusters/not-this-cluster/topics/${topics.records}/records`,
        status: 404,
        code: 'E_CLUSTER_UNKNOWN',
      },
      {
        name: 'v3 with an unsupported content type',
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': 'text/plain' }),
        status: 415,
        code: 'E_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'v2 with plain JSON',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': 'application/json' }),
        status: 415,
        code: 'E_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'v2 with a Schema Registry format',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': 'application/vnd.kafka.avro.v2+json' }),
        status: 415,
        code: 'E_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'v3 malformed JSON',
        body: () => '{"value": {"type": "JSON", "data": }',
        status: 400,
        code: 'E_BAD_REQUEST',
      },
      { name: 'v3 empty body', body: () => '  ', status: 400, code: 'E_BAD_REQUEST' },
      {
        name: 'v3 missing value',
        body: () => '{"key": {"type": "JSON", "data": 1}}',
        status: 400,
        code: 'E_BAD_REQUEST',
      },
      {
        name: 'v3 partition_id',
        body: () => JSON.stringify({ partition_id: 0, value: { data: 1 } }),
        status: 400,
        code: 'E_BAD_REQUEST',
      },
      {
        name: 'v3 bad base64',
        body: () => JSON.stringify({ value: { type: 'BINARY', data: 'a*b=' } }),
        status: 400,
        code: 'E_VALUE_INVALID',
      },
      {
        name: 'v3 record too large',
        body: () => JSON.stringify({ value: { type: 'STRING', data: 'x'.repeat(5000) } }),
        status: 413,
        code: 'E_RECORD_TOO_LARGE',
      },
      {
        name: 'v3 body too large',
        body: () => `${record}\n`.repeat(3000),
        status: 413,
        code: 'E_BODY_TOO_LARGE',
      },
      {
        name: 'v2 malformed JSON',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': v2json }),
        body: () => '{"records": [',
        status: 400,
        code: 'E_BAD_REQUEST',
      },
      {
        name: 'v2 bad base64',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': v2binary }),
        body: () => JSON.stringify({ records: [{ value: 'bm90IGJhc2U2NA==' }, { value: '%%%' }] }),
        status: 400,
        code: 'E_VALUE_INVALID',
      },
      {
        name: 'v2 partition',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': v2json }),
        body: () => JSON.stringify({ records: [{ value: 1, partition: 2 }] }),
        status: 400,
        code: 'E_BAD_REQUEST',
      },
      {
        name: 'v2 body too large',
        path: () => `/topics/${topics.records}`,
        headers: async () => ({ ...(await auth('rest-e')), 'content-type': v2json }),
        body: () => JSON.stringify({ records: Array.from({ length: 400 }, () => ({ value: 'y'.repeat(200) })) }),
        status: 413,
        code: 'E_BODY_TOO_LARGE',
      },
      {
        name: 'bad Idempotency-Key',
        headers: async () => ({
          ...(await auth('rest-e')),
          'content-type': 'application/json',
          'idempotency-key': 'has spaces',
        }),
        status: 400,
        code: 'E_BAD_REQUEST',
      },
    ]
    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.code}`, async () => {
        const headers = c.headers
          ? await c.headers()
          : { ...(await auth('rest-e')), 'content-type': 'application/json' }
        const response = await post(bridge.url, c.path?.() ?? v3, c.body?.() ?? record, headers)
        expect(response.status).toBe(c.status)
        expect(response.body).toMatchObject({ error_code: c.status, code: c.code })
        expect(typeof response.body.message).toBe('string')
      })
    }

    it('nothing of the refused requests reached Kafka', async () => {
      const messages = byDevice(await readTopic(topics.records, { idleMs: 1500 }), 'rest-e')
      expect(messages).toHaveLength(0)
    })
  })

  it('serves an OpenAPI 3.1 document listing every HTTP endpoint, each one served', async () => {
    const response = await fetch(`${bridge.url}/openapi.json`)
    expect(response.status).toBe(200)
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    const paths = Object.keys(doc.paths)
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/openapi.json',
      '/v1/ws',
      '/v3/clusters/{cluster_id}/topics/{topic}/records',
      '/topics/{topic}',
    ]) {
      expect(paths).toContain(path)
    }
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (path === '/v1/ws') continue // an upgrade, not a fastify route
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{cluster_id\}/, ':clusterId').replace(/\{(\w+)\}/g, ':$1')
        expect(bridge.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path}`).toBe(true)
      }
    }
  })

  it('answers 503 E_KAFKA_UNAVAILABLE while the bridge has not reached Kafka', async () => {
    const offline = await startTestBridge(isolatedTopics(), {
      logLevel: 'silent',
      kafka: { brokers: ['127.0.0.1:1'] },
    })
    try {
      const response = await post(offline.url, `/topics/${topics.records}`, '{"records":[{"value":1}]}', {
        ...(await auth('rest-offline')),
        'content-type': v2json,
      })
      expect(response.status).toBe(503)
      expect(response.body).toMatchObject({ error_code: 503, code: 'E_KAFKA_UNAVAILABLE' })
      expect(response.headers.get('retry-after')).toBe('1')
    } finally {
      await offline.close()
    }
  })

  it('counts REST records in the metrics with transport="rest"', async () => {
    const text = await (await fetch(`${bridge.url}/metrics`)).text()
    expect(text).toMatch(/kafka_edge_records_acked_total\{transport="rest"\} [1-9]/)
    expect(text).toMatch(/kafka_edge_records_duplicate_total\{transport="rest"\} [1-9]/)
  })
})
