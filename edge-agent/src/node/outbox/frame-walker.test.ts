import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../../test/support/temp-dirs.ts'
import { encodeFrame } from '../../core/outbox/frame.ts'
import { FrameWalker } from './frame-walker.ts'
import { type Segment, segmentName } from './segment.ts'

const freshDir = tempDirs('frame-walker-unit-')

const frame = (lsn: number) =>
  encodeFrame({
    seq: lsn,
    encoding: 'text',
    payload: new TextEncoder().encode(`record ${lsn}`.padEnd(20 + lsn, '.')),
    timestamp: 1,
    appendedAt: lsn * 1000,
  })

/** A segment of lsns 10-14 (frames of different sizes), its file's bytes changed by `damage`; the log knows it as written. */
function segmentOf(damage: (bytes: Buffer, offsets: number[]) => Buffer = (b) => b): {
  segment: Segment
  offsets: number[]
} {
  const dir = freshDir()
  const frames = [10, 11, 12, 13, 14].map(frame)
  const offsets = frames.map((_, i) => frames.slice(0, i).reduce((n, f) => n + f.length, 0))
  const bytes = Buffer.concat(frames)
  const path = join(dir, segmentName(10))
  writeFileSync(path, damage(bytes, offsets))
  return { segment: { firstLsn: 10, path, size: bytes.length }, offsets }
}

/** Every frame's lsn, offset and appendedAt from where the walker stands, then how the walk ended. */
async function walk(walker: FrameWalker): Promise<{ seen: [number, number, number][]; end: string }> {
  const seen: [number, number, number][] = []
  for (;;) {
    const length = await walker.frame()
    if (length === 'unframed') return { seen, end: 'unframed' }
    const read = walker.read()
    seen.push([walker.lsn, walker.position.offset, read.kind === 'record' ? read.entry.appendedAt : -1])
    walker.skip(length)
  }
}

describe('FrameWalker', () => {
  it('walks every frame in lsn order, refilling a chunk too small for them', async () => {
    const { segment, offsets } = segmentOf()
    // No frame fits in the first 16 bytes read: the walker reads on.
    const { seen, end } = await walk(await FrameWalker.open(segment, undefined, 16))
    expect(seen).toEqual([10, 11, 12, 13, 14].map((lsn, i) => [lsn, offsets[i], lsn * 1000]))
    // Past the last frame there is nothing more to read.
    expect(end).toBe('unframed')
  })

  it('starts at a position it gave out, in its own segment only', async () => {
    const { segment, offsets } = segmentOf()
    const first = await FrameWalker.open(segment, undefined, 1 << 16)
    first.skip((await first.frame()) as number)
    first.skip((await first.frame()) as number)
    const at = first.position
    expect(at).toEqual({ segment: 10, lsn: 12, offset: offsets[2] })

    const resumed = await walk(await FrameWalker.open(segment, at, 1 << 16))
    expect(resumed.seen.map(([lsn]) => lsn)).toEqual([12, 13, 14])
    // A position in another segment is ignored: the walk starts at this one's first frame.
    const other = await FrameWalker.open(segment, { segment: 99, lsn: 101, offset: 7 }, 1 << 16)
    expect(other.position).toEqual({ segment: 10, lsn: 10, offset: 0 })
  })

  it('a length field that runs past the segment: unframed from there on, never a read of that length', async () => {
    const { segment } = segmentOf((bytes, offsets) => {
      bytes.writeUInt32LE(0x7ffffff0, offsets[2] as number)
      return bytes
    })
    const { seen, end } = await walk(await FrameWalker.open(segment, undefined, 16))
    expect(seen.map(([lsn]) => lsn)).toEqual([10, 11])
    expect(end).toBe('unframed')
  })

  it('a file shorter than was written: unframed where its bytes run out', async () => {
    // The log believes the whole segment is there; the file ends 5 bytes into lsn 13.
    const { segment } = segmentOf((bytes, offsets) => bytes.subarray(0, (offsets[3] as number) + 5))
    const { seen, end } = await walk(await FrameWalker.open(segment, undefined, 1 << 16))
    expect(seen.map(([lsn]) => lsn)).toEqual([10, 11, 12])
    expect(end).toBe('unframed')
  })

  it('reads a frame whose bytes fail their CRC as corrupt, and walks on past it', async () => {
    const { segment } = segmentOf((bytes, offsets) => {
      const i = (offsets[1] as number) + 20
      bytes[i] = (bytes[i] as number) ^ 0x01
      return bytes
    })
    const { seen, end } = await walk(await FrameWalker.open(segment, undefined, 1 << 16))
    expect(seen.map(([lsn, , appendedAt]) => [lsn, appendedAt])).toEqual([
      [10, 10_000],
      [11, -1],
      [12, 12_000],
      [13, 13_000],
      [14, 14_000],
    ])
    expect(end).toBe('unframed')
  })
})
