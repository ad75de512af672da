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
    const frame = buildProduceFrame(entries, '0-1', 600)
    expect(frame?.count).toBeGreaterThan(0)
    expect(frame?.count).toBeLessThan(10)
    expect(frame?.data.length).toBeLessThanOrEqual(600)
    expect(buildProduceFrame(entries, '0-1', 50)).toBeUndefined()
  })
})
