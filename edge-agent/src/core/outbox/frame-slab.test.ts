import { describe, expect, it } from 'vitest'
import { encodeFrame, readFrame } from './frame.ts'
import { FrameSlab } from './frame-slab.ts'

const fields = (i: number) => ({
  seq: i,
  encoding: 'text' as const,
  payload: new TextEncoder().encode(`record ${i}`),
  timestamp: 1000 + i,
  appendedAt: 2000 + i,
})

describe('FrameSlab', () => {
  it('hands out fresh, non-overlapping slices: frames encoded into them read back as written', () => {
    const slab = new FrameSlab()
    const frames = Array.from({ length: 2000 }, (_, i) => encodeFrame(fields(i), { alloc: slab.alloc }))
    // Small frames share slabs (2000 frames of ~50 bytes take two 64 KiB slabs, not 2000 buffers).
    expect(new Set(frames.map((f) => f.buffer)).size).toBe(2)
    for (const [i, frame] of frames.entries()) {
      const read = readFrame(frame, 0)
      expect(read.kind).toBe('record')
      if (read.kind === 'record')
        expect(read.entry).toMatchObject({ seq: i, timestamp: 1000 + i, appendedAt: 2000 + i })
    }
  })

  it('gives a frame larger than 4 KiB a buffer of its own', () => {
    const slab = new FrameSlab()
    const big = slab.alloc(5000)
    expect(big.byteOffset).toBe(0)
    expect(big.buffer.byteLength).toBe(5000)
    expect(slab.alloc(10).buffer).not.toBe(big.buffer)
  })
})
