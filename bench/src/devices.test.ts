import { encodeBinaryProduce } from '@kafka-edge/edge-agent/protocol'
import { describe, expect, it } from 'vitest'
import { produceBinaryFrame, produceFrame, RECORD_BYTES, recordJson, traceparent } from './devices.ts'

// The load generator writes its frames by concatenation, ~20 µs a frame
// cheaper than encodeBinaryProduce, CPU it would otherwise take from the
// bridge on a 2-core machine. It must still be what the protocol writes.
const timestamp = 1767225600123
const values = Array.from({ length: 100 }, (_, i) => Buffer.from(recordJson('bench-dev-007', 41 + i)))

/** Records 41-140 of bench-dev-007 as encodeBinaryProduce writes them, with `headers` if given. */
function expectedFrame(headers?: { traceparent: string }[]): Buffer {
  const columns = {
    seq: 41,
    sizes: values.map(() => RECORD_BYTES),
    timestampDeltas: values.map((_, i) => (i ? 0 : timestamp)),
    ...(headers && { headers }),
  }
  return Buffer.from(encodeBinaryProduce({ type: 'produce', columns }, values))
}

describe('the ingest benchmark frame', () => {
  it('is byte for byte the columns frame encodeBinaryProduce writes', () => {
    expect(Buffer.from(produceBinaryFrame('bench-dev-007', 41, 100, timestamp, 'none'))).toEqual(expectedFrame())
    expect(values.every((v) => v.length === RECORD_BYTES)).toBe(true)
  })

  it('with BENCH_HEADERS=trace, is byte for byte the frame encodeBinaryProduce writes for those headers', () => {
    const frame = produceBinaryFrame('bench-dev-007', 41, 100, timestamp, 'trace')
    expect(Buffer.from(frame)).toEqual(expectedFrame(values.map((_, i) => ({ traceparent: traceparent(41 + i) }))))
    expect(traceparent(41)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  })

  it('as a text frame, carries the same records and headers', () => {
    const frame = JSON.parse(produceFrame('bench-dev-007', 41, 3, 'trace'))
    expect(frame.records).toEqual(
      [41, 42, 43].map((seq) => ({
        seq,
        value: JSON.parse(recordJson('bench-dev-007', seq)),
        headers: { traceparent: traceparent(seq) },
      })),
    )
  })
})
