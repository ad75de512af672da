import { existsSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../../test/support/temp-dirs.ts'
import { encodeFrame } from '../../core/outbox/frame.ts'
import type { Segment } from './segment.ts'
import { segmentName } from './segment.ts'
import { type EntryAt, SegmentLog } from './segment-log.ts'

const freshDir = tempDirs('segment-log-unit-')

const frame = (lsn: number) =>
  encodeFrame({
    seq: lsn,
    encoding: 'text',
    payload: new TextEncoder().encode(`record ${String(lsn).padStart(3, '0')}`),
    timestamp: 1,
    appendedAt: 1,
  })
/** Every test frame has the same size. */
const FRAME = frame(1).length

const entryAt: EntryAt = (lsn, read, size) => {
  if (read.kind !== 'record' || read.entry.seq !== lsn) throw new Error(`lsn ${lsn}: ${read.kind}`)
  return { ...read.entry, size }
}

/** Segments holding lsns 1-3, 4-6 (sealed) and 7-8 (active). */
async function logOf(durable: { lsn: number }): Promise<{ log: SegmentLog; paths: string[] }> {
  const dir = freshDir()
  const segments: Segment[] = []
  for (const [first, last] of [
    [1, 3],
    [4, 6],
    [7, 8],
  ] as const) {
    const frames: Uint8Array[] = []
    for (let lsn = first; lsn <= last; lsn++) frames.push(frame(lsn))
    const path = join(dir, segmentName(first))
    writeFileSync(path, Buffer.concat(frames))
    segments.push({ firstLsn: first, path, size: frames.length * FRAME })
  }
  const active = await open((segments[2] as Segment).path, 'a')
  return { log: new SegmentLog(dir, segments, active, () => durable.lsn, entryAt), paths: segments.map((s) => s.path) }
}

const lsns = (entries: { seq: number }[]) => entries.map((e) => e.seq)

describe('SegmentLog', () => {
  it('reads across segments, within maxRecords and maxBytes, never past the durable lsn', async () => {
    const durable = { lsn: 8 }
    const { log } = await logOf(durable)
    expect(lsns(await log.read(2, 100, 1 << 20))).toEqual([2, 3, 4, 5, 6, 7, 8])
    expect(lsns(await log.read(3, 3, 1 << 20))).toEqual([3, 4, 5])
    expect(lsns(await log.read(5, 100, 2 * FRAME))).toEqual([5, 6])
    // A record larger than maxBytes still goes out alone, or a page could never move.
    expect(lsns(await log.read(6, 100, 1))).toEqual([6])
    // Reading backwards after the cursor moved on still finds the records.
    expect(lsns(await log.read(1, 2, 1 << 20))).toEqual([1, 2])
    durable.lsn = 6
    expect(lsns(await log.read(5, 100, 1 << 20))).toEqual([5, 6])
    await log.close()
  })

  it('deletes sealed segments whole once released, never the active one', async () => {
    const { log, paths } = await logOf({ lsn: 8 })
    expect(log.oldestSealedEnd).toBe(3)
    expect(log.bytes).toBe(8 * FRAME)
    log.deleteReleased(5)
    await expect.poll(() => paths.map((p) => existsSync(p))).toEqual([false, true, true])
    expect(log.oldestSealedEnd).toBe(6)
    expect(log.bytes).toBe(5 * FRAME)
    expect(lsns(await log.read(5, 100, 1 << 20))).toEqual([5, 6, 7, 8])
    log.deleteReleased(8)
    await expect.poll(() => paths.map((p) => existsSync(p))).toEqual([false, false, true])
    expect(log.oldestSealedEnd).toBeUndefined()
    expect(log.segmentOf(8).firstLsn).toBe(7)
    await log.close()
  })

  it('appends to the active segment and rolls to a new one', async () => {
    const durable = { lsn: 8 }
    const { log } = await logOf(durable)
    await log.append([frame(9), frame(10)], 2 * FRAME)
    expect(log.active).toMatchObject({ firstLsn: 7, size: 4 * FRAME })
    await log.roll(11)
    expect(log.active).toMatchObject({ firstLsn: 11, size: 0 })
    expect(log.oldestSealedEnd).toBe(3)
    await log.append([frame(11)], FRAME)
    durable.lsn = 11
    expect(lsns(await log.read(8, 100, 1 << 20))).toEqual([8, 9, 10, 11])
    expect(log.segmentOf(10).firstLsn).toBe(7)
    expect(log.segmentOf(11).firstLsn).toBe(11)
    await log.close()
  })
})
