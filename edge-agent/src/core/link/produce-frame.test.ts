import { describe, expect, it } from 'vitest'
import { decodeBinaryProduce } from '../../protocol/v1.ts'
import type { OutboxEntry } from '../outbox/record.ts'
import { buildProduceFrame, utf8Length } from './produce-frame.ts'

const utf8 = new TextEncoder()
const entry = (seq: number, value: string, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
  seq,
  encoding: 'json',
  payload: utf8.encode(value),
  timestamp: 1700000000000,
  appendedAt: 1700000000000,
  size: 0,
  ...extra,
})

const columns = { columns: true }

describe('buildProduceFrame', () => {
  it('carries every payload as its stored bytes in a binary frame of the reported size', () => {
    const frame = buildProduceFrame(
      [
        entry(1, '{"a":"ü€😀"}'),
        entry(2, 'héllo', { encoding: 'text', topic: 't', headers: { h: 'v' } }),
        entry(3, '', { encoding: 'bytes', payload: Uint8Array.of(0, 255, 1) }),
      ],
      '0-1',
      1 << 20,
      columns,
    )
    if (!frame) throw new Error('no frame')
    const { frame: header, payloads } = decodeBinaryProduce(frame.data)
    const json = utf8.encode('{"a":"ü€😀"}')
    expect(header).toEqual({
      type: 'produce',
      id: '0-1',
      records: [
        { seq: 1, value: json.length, encoding: 'binary', timestamp: 1700000000000 },
        { seq: 2, topic: 't', value: 6, encoding: 'binary', headers: { h: 'v' }, timestamp: 1700000000000 },
        { seq: 3, value: 3, encoding: 'binary', timestamp: 1700000000000 },
      ],
    })
    expect(payloads).toEqual([json, utf8.encode('héllo'), Uint8Array.of(0, 255, 1)])
    expect([frame.fromSeq, frame.toSeq, frame.count]).toEqual([1, 3, 3])
    expect(utf8Length('ü€😀')).toBe(utf8.encode('ü€😀').length)
  })

  it('stops at the byte limit and refuses a first record that cannot fit', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i + 1, `"${'x'.repeat(100)}"`))
    const frame = buildProduceFrame(entries, '0-1', 600, { columns: false })
    expect(frame?.count).toBeGreaterThan(0)
    expect(frame?.count).toBeLessThan(10)
    expect(frame?.data.length).toBeLessThanOrEqual(600)
    expect(buildProduceFrame(entries, '0-1', 50, { columns: false })).toBeUndefined()
  })
})

describe('buildProduceFrame, columns', () => {
  const t0 = 1700000000000
  // Sizes and deltas of 1 to 4 digits, a timestamp that goes back (a clock set back), and a topic.
  const entries = Array.from({ length: 40 }, (_, i) =>
    entry(i + 7, `"${'v'.repeat((i * 37) % 1200)}"`, {
      topic: 'telemetry.press',
      timestamp: t0 + i * i * 7 - (i === 5 ? 9000 : 0),
    }),
  )

  it('describes records of one topic without headers column by column', () => {
    const frame = buildProduceFrame(entries, '3-9', 1 << 20, columns)
    if (!frame) throw new Error('no frame')
    const { frame: header, payloads } = decodeBinaryProduce(frame.data)
    const timestamps = entries.map((e) => e.timestamp)
    expect(header).toEqual({
      type: 'produce',
      id: '3-9',
      columns: {
        seq: 7,
        topic: 'telemetry.press',
        sizes: entries.map((e) => e.payload.length),
        timestampDeltas: timestamps.map((t, i) => t - (i ? (timestamps[i - 1] as number) : 0)),
      },
    })
    expect(payloads).toEqual(entries.map((e) => e.payload))
    expect([frame.fromSeq, frame.toSeq, frame.count]).toEqual([7, 46, 40])
  })

  it('fills a frame to the byte, its size counted before it is built', () => {
    for (const maxBytes of [300, 1000, 4321, 9000, 20000]) {
      const frame = buildProduceFrame(entries, '3-9', maxBytes, columns)
      if (!frame) throw new Error(`no frame at ${maxBytes}`)
      expect(frame.data.length).toBeLessThanOrEqual(maxBytes)
      // The same frame at exactly its size, and one record fewer a byte below it.
      expect(buildProduceFrame(entries, '3-9', frame.data.length, columns)?.count).toBe(frame.count)
      expect(buildProduceFrame(entries, '3-9', frame.data.length - 1, columns)?.count ?? 0).toBe(frame.count - 1)
    }
  })

  it('sends a long run as columns and leaves the different record for the next frame', () => {
    const run = [...Array.from({ length: 10 }, (_, i) => entry(i + 1, '1')), entry(11, '2', { headers: { h: 'v' } })]
    const frame = buildProduceFrame(run, '0-1', 1 << 20, columns)
    expect(frame && decodeBinaryProduce(frame.data).frame.columns?.sizes).toHaveLength(10)
  })

  it('sends records, never columns, to a bridge that did not offer them', () => {
    const frame = buildProduceFrame(entries, '3-9', 1 << 20, { columns: false })
    if (!frame) throw new Error('no frame')
    const { frame: header, payloads } = decodeBinaryProduce(frame.data)
    expect(header.columns).toBeUndefined()
    expect(header.records?.map((r) => [r.seq, r.topic, r.value, r.encoding, r.timestamp])).toEqual(
      entries.map((e) => [e.seq, 'telemetry.press', e.payload.length, 'binary', e.timestamp]),
    )
    expect(payloads).toEqual(entries.map((e) => e.payload))
  })

  it('keeps records whose topics take turns, or that carry headers, in one records frame', () => {
    const turns = Array.from({ length: 10 }, (_, i) => entry(i + 1, '1', i % 2 ? { topic: 'b' } : {}))
    const mixed = buildProduceFrame(turns, '0-1', 1 << 20, columns)
    expect(mixed && decodeBinaryProduce(mixed.data).frame.records).toHaveLength(10)
    const headed = buildProduceFrame([entry(1, '1', { headers: { h: 'v' } }), entry(2, '2')], '0-1', 1 << 20, columns)
    expect(headed && decodeBinaryProduce(headed.data).frame.records).toHaveLength(2)
  })
})

describe('buildProduceFrame, columns with headers', () => {
  const withHeaders = { columns: true, columnHeaders: true }
  const headerOf = (frame: ReturnType<typeof buildProduceFrame>) => {
    if (!frame) throw new Error('no frame')
    return decodeBinaryProduce(frame.data).frame
  }

  it('sends headers every record shares once, as an object, compared by content', () => {
    // Equal, not the same object: as records read back from an outbox are.
    const entries = Array.from({ length: 5 }, (_, i) => entry(i + 1, `${i}`, { headers: { line: '3', ünit: '°C' } }))
    const header = headerOf(buildProduceFrame(entries, '0-1', 1 << 20, withHeaders))
    expect(header.records).toBeUndefined()
    expect(header.columns?.headers).toEqual({ line: '3', ünit: '°C' })
    expect(header.columns?.sizes).toHaveLength(5)
  })

  it('sends one entry per record, null for none, when the headers differ', () => {
    const entries = [
      entry(1, 'a', { headers: { line: '3' } }),
      entry(2, 'b', { headers: { line: '3' } }),
      entry(3, 'c'),
      entry(4, 'd', { headers: { line: '4' } }),
      // The same names and values in another order reach Kafka in another order.
      entry(5, 'e', { headers: { b: '2', a: '1' } }),
      entry(6, 'f', { headers: { a: '1', b: '2' } }),
    ]
    const header = headerOf(buildProduceFrame(entries, '0-1', 1 << 20, withHeaders))
    expect(header.columns?.headers).toEqual([
      { line: '3' },
      { line: '3' },
      null,
      { line: '4' },
      { b: '2', a: '1' },
      { a: '1', b: '2' },
    ])
    // Headers that start after records without: nulls first.
    const late = headerOf(
      buildProduceFrame([entry(1, 'a'), entry(2, 'b', { headers: { h: 'v' } })], '0-1', 1e6, withHeaders),
    )
    expect(late.columns?.headers).toEqual([null, { h: 'v' }])
  })

  it('sends no headers property when no record has headers', () => {
    const header = headerOf(buildProduceFrame([entry(1, 'a'), entry(2, 'b')], '0-1', 1 << 20, withHeaders))
    expect(header.columns && 'headers' in header.columns).toBe(false)
  })

  it('falls back to records for records with headers when the bridge does not take them in columns', () => {
    const entries = Array.from({ length: 5 }, (_, i) => entry(i + 1, `${i}`, { headers: { line: '3' } }))
    expect(headerOf(buildProduceFrame(entries, '0-1', 1 << 20, columns)).records).toHaveLength(5)
    expect(
      headerOf(buildProduceFrame(entries, '0-1', 1 << 20, { columns: false, columnHeaders: true })).records,
    ).toHaveLength(5)
  })

  it('fills a frame to the byte in either form, its size counted before it is built', () => {
    const shared = { line: '3', ünit: '°C' }
    const runs = {
      object: Array.from({ length: 40 }, (_, i) => entry(i + 1, 'v'.repeat(i * 7), { headers: { ...shared } })),
      // Agreeing at first, so the form changes from object to array part way.
      array: Array.from({ length: 40 }, (_, i) =>
        entry(i + 1, 'v'.repeat(i * 7), i < 12 ? { headers: shared } : i % 3 ? { headers: { n: `€${i}` } } : {}),
      ),
    }
    for (const [form, entries] of Object.entries(runs)) {
      for (let maxBytes = 150; maxBytes < 7000; maxBytes += 97) {
        const frame = buildProduceFrame(entries, '3-9', maxBytes, withHeaders)
        if (!frame) throw new Error(`no ${form} frame at ${maxBytes}`)
        expect(frame.data.length, `${form} at ${maxBytes}`).toBeLessThanOrEqual(maxBytes)
        expect(buildProduceFrame(entries, '3-9', frame.data.length, withHeaders)?.count).toBe(frame.count)
        expect(buildProduceFrame(entries, '3-9', frame.data.length - 1, withHeaders)?.count ?? 0).toBe(frame.count - 1)
        const headers = headerOf(frame).columns?.headers
        expect(headers, `${form} at ${maxBytes}`).toEqual(
          form === 'object' || frame.count <= 12 ? shared : entries.slice(0, frame.count).map((e) => e.headers ?? null),
        )
      }
    }
  })
})

describe('buildProduceFrame, timestamps', () => {
  // A fraction of a ms (performance.timeOrigin + performance.now()), and what an
  // older agent's outbox may hold: NaN, negative. Sent as whole ms, or the append time.
  const odd = [
    entry(1, '1', { timestamp: 1700000000123.75 }),
    entry(2, '2', { timestamp: Number.NaN, appendedAt: 1700000000200 }),
    entry(3, '3', { timestamp: -5, appendedAt: 1700000000300 }),
  ]
  const sent = [1700000000123, 1700000000200, 1700000000300]

  it('sends whole ms in records', () => {
    const frame = buildProduceFrame(odd, '0-1', 1 << 20, { columns: false })
    expect(frame && decodeBinaryProduce(frame.data).frame.records?.map((r) => r.timestamp)).toEqual(sent)
  })

  it('sends whole ms in columns', () => {
    const frame = buildProduceFrame(odd, '0-1', 1 << 20, columns)
    const deltas = frame && decodeBinaryProduce(frame.data).frame.columns?.timestampDeltas
    expect(deltas).toEqual(sent.map((t, i) => t - (i ? (sent[i - 1] as number) : 0)))
  })
})
