import { encodeBinaryProduce } from '@kafka-edge/edge-agent/protocol'
import { describe, expect, it } from 'vitest'
import { produceBinaryFrame, RECORD_BYTES, recordJson } from './devices.ts'

// The load generator writes its frames by concatenation, ~20 µs a frame
// cheaper than encodeBinaryProduce, CPU it would otherwise take from the
// bridge on a 2-core machine. It must still be what the protocol writes.
describe('the ingest benchmark frame', () => {
  it('is byte for byte the columns frame encodeBinaryProduce writes', () => {
    const timestamp = 1767225600123
    const values = Array.from({ length: 100 }, (_, i) => Buffer.from(recordJson('bench-dev-007', 41 + i)))
    const expected = encodeBinaryProduce(
      {
        type: 'produce',
        columns: {
          seq: 41,
          sizes: values.map(() => RECORD_BYTES),
          timestampDeltas: values.map((_, i) => (i ? 0 : timestamp)),
        },
      },
      values,
    )
    expect(Buffer.from(produceBinaryFrame('bench-dev-007', 41, 100, timestamp))).toEqual(Buffer.from(expected))
    expect(values.every((v) => v.length === RECORD_BYTES)).toBe(true)
  })
})
