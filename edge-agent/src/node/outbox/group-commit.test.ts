// GroupCommit against a stand-in for its segment log, for what a real disk
// cannot be made to do on cue here: fail one write and take the next.
// file-outbox.test.ts covers the real files (a write cut short by a file size limit).
import { describe, expect, it } from 'vitest'
import { encodeFrame } from '../../core/outbox/frame.ts'
import type { OverflowPolicy } from '../../core/outbox/outbox.ts'
import { initialSeqState } from '../../core/outbox/seq-space.ts'
import { GroupCommit } from './group-commit.ts'
import type { SegmentLog } from './segment-log.ts'

const frame = (i: number) =>
  encodeFrame(
    { seq: 0, encoding: 'text', payload: new TextEncoder().encode(`r${i}`), timestamp: 1, appendedAt: 1 },
    { seal: false },
  )

/** A log whose writes wait until the test settles them, and that has no sealed segment to drop. */
function heldLog() {
  const writes: { frames: number; settle: (error?: Error) => void }[] = []
  let bytes = 0
  const log = {
    get bytes() {
      return bytes
    },
    oldestSealedEnd: undefined,
    active: { size: 0 },
    append(frames: Uint8Array[], length: number): Promise<void> {
      return new Promise((resolve, reject) => {
        writes.push({
          frames: frames.length,
          settle: (error) => {
            if (error) return reject(error)
            bytes += length
            resolve()
          },
        })
      })
    },
    roll: async () => {},
    deleteReleased: () => {},
  }
  return { log: log as unknown as SegmentLog, writes }
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: { code?: string }) => ({ error: error.code }),
  )

const hooks = { dropThrough: () => {}, durable: () => {}, resolved: () => {} }
const one = frame(1).length

/** Room for `records` test frames, in one segment. */
const commitOf = (log: SegmentLog, records: number, overflow: OverflowPolicy) =>
  new GroupCommit(
    log,
    initialSeqState(),
    { capBytes: records * one, overflow, segmentBytes: 1 << 20, maxGroupBytes: 1 << 20 },
    hooks,
  )

describe('GroupCommit', () => {
  it('counts the group being written against the cap: under reject, an append past it is refused at once', async () => {
    const { log, writes } = heldLog()
    const commit = commitOf(log, 2, 'reject')
    const first = commit.add(frame(1))
    const second = commit.add(frame(2))
    await new Promise((resolve) => setTimeout(resolve, 10))
    // Record 1 is on its way to disk and 2 waits for the next group: the outbox is full.
    expect(commit.diskBytes).toBe(2 * one)
    expect(await settled(commit.add(frame(3)))).toEqual({ error: 'E_OUTBOX_FULL' })
    writes[0]?.settle()
    await new Promise((resolve) => setTimeout(resolve, 10))
    writes[1]?.settle()
    expect(await Promise.all([first, second])).toEqual([1, 2])
    expect(commit.diskBytes).toBe(2 * one)
  })

  it('a failed write rejects the appends waiting for room too, and nothing is written after it, even once the disk would take it', async () => {
    const { log, writes } = heldLog()
    // Room for two records; drop-oldest, but nothing sealed to drop while the first group is being written.
    const commit = commitOf(log, 2, 'drop-oldest')
    const first = settled(commit.add(frame(1)))
    const second = settled(commit.add(frame(2)))
    const third = settled(commit.add(frame(3)))
    const fourth = settled(commit.add(frame(4)))
    await new Promise((resolve) => setTimeout(resolve, 10))
    // The first group (record 1) is being written; 2 joined the next group, 3 and 4 wait for room.
    expect(writes.map((w) => w.frames)).toEqual([1])

    writes[0]?.settle(new Error('ENOSPC: no space left on device'))
    expect(await first).toEqual({ error: 'E_OUTBOX_CLOSED' })
    expect(await second).toEqual({ error: 'E_OUTBOX_CLOSED' })
    expect(await third).toEqual({ error: 'E_OUTBOX_CLOSED' })
    expect(await fourth).toEqual({ error: 'E_OUTBOX_CLOSED' })
    await commit.drain()
    // Written after the torn group, they would sit where recovery cuts the segment off.
    expect(writes).toHaveLength(1)
    expect(commit.failed).toBe(true)
    expect(await settled(commit.add(frame(5)))).toEqual({ error: 'E_OUTBOX_CLOSED' })
  })

  it('without a failure, the appends that waited for room are written once the first group is', async () => {
    const { log, writes } = heldLog()
    const commit = commitOf(log, 4, 'drop-oldest')
    const seqs = [1, 2, 3].map((i) => commit.add(frame(i)))
    await new Promise((resolve) => setTimeout(resolve, 10))
    writes[0]?.settle()
    await new Promise((resolve) => setTimeout(resolve, 10))
    writes[1]?.settle()
    expect(await Promise.all(seqs)).toEqual([1, 2, 3])
    expect(writes.map((w) => w.frames)).toEqual([1, 2])
  })
})
