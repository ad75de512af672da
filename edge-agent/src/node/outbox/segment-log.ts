// The outbox's segments in lsn order, oldest first: the newest one is the
// active segment, appended to through one open handle; the others are sealed.
// Reads cross segment boundaries; sealed segments are deleted whole once every
// record in them is released.
import { type FileHandle, open, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FRAME_HEADER_BYTES, type FrameRead } from '../../core/outbox/frame.ts'
import type { OutboxEntry } from '../../core/outbox/record.ts'
import { syncDir } from '../durable-file.ts'
import { type FramePosition, FrameWalker } from './frame-walker.ts'
import { type Segment, segmentName } from './segment.ts'

/** What goes out for the frame stored at `lsn` (SeqOutbox.entryAt). */
export type EntryAt = (lsn: number, read: FrameRead, size: number) => OutboxEntry

interface ReadLimit {
  maxRecords: number
  maxBytes: number
  /** The first record of a page goes out even when it alone is over maxBytes. */
  first: boolean
}

export class SegmentLog {
  readonly #dir: string
  readonly #segments: Segment[]
  #active: FileHandle
  /** Reads stop here: later lsns may be in the file but their append has not resolved. */
  readonly #durableLsn: () => number
  readonly #entryAt: EntryAt
  /** Where the last read ended: lets the next one start without a scan. */
  #cursor: FramePosition | undefined

  /** `segments` as recovered, oldest first; `active` is the newest one, open for appending. */
  constructor(dir: string, segments: Segment[], active: FileHandle, durableLsn: () => number, entryAt: EntryAt) {
    this.#dir = dir
    this.#segments = segments
    this.#active = active
    this.#durableLsn = durableLsn
    this.#entryAt = entryAt
  }

  /** Bytes in all segments. */
  get bytes(): number {
    let n = 0
    for (const s of this.#segments) n += s.size
    return n
  }

  /** The segment appends go to. */
  get active(): Segment {
    return this.#segments[this.#segments.length - 1] as Segment
  }

  /** The last lsn of the oldest segment once it is sealed; undefined while the active segment is the only one. */
  get oldestSealedEnd(): number | undefined {
    const second = this.#segments[1]
    return second === undefined ? undefined : second.firstLsn - 1
  }

  /** Appends a group of frames to the active segment: one write, one fdatasync. */
  async append(frames: Uint8Array[], bytes: number): Promise<void> {
    const active = this.active
    const data = Buffer.concat(frames, bytes)
    // A write cut short (a full disk, a file size limit) leaves the rest; the next one says why.
    for (let done = 0; done < bytes; ) {
      const { bytesWritten } = await this.#active.write(data, done, bytes - done)
      if (bytesWritten === 0) throw new Error('the segment file took no more bytes')
      done += bytesWritten
    }
    await this.#active.datasync()
    active.size += bytes
  }

  /** Seals the active segment and starts a new one at `firstLsn`, durable before anything is written to it. */
  async roll(firstLsn: number): Promise<void> {
    const path = join(this.#dir, segmentName(firstLsn))
    await writeFile(path, new Uint8Array(0))
    await syncDir(this.#dir)
    await this.#active.close()
    this.#active = await open(path, 'a')
    this.#segments.push({ firstLsn, path, size: 0 })
  }

  /** Deletes the sealed segments whose every record is at or before `releasedLsn`. */
  deleteReleased(releasedLsn: number): void {
    while (this.#segments.length > 1 && (this.#segments[1] as Segment).firstLsn - 1 <= releasedLsn) {
      const gone = this.#segments.shift() as Segment
      this.#cursor = undefined
      void unlink(gone.path).catch(() => {})
    }
  }

  /** The segment that holds `lsn`. */
  segmentOf(lsn: number): Segment {
    return this.#segments[this.#indexOf(lsn)] as Segment
  }

  #indexOf(lsn: number): number {
    let lo = 0
    let hi = this.#segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.#segments[mid] as Segment).firstLsn <= lsn) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /**
   * Reads the durable records from `fromLsn` on, across segments, up to
   * `maxRecords` and `maxBytes` (but at least one). Rejects with ENOENT when
   * a release deleted a segment under the read.
   */
  async read(fromLsn: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    let lsn = fromLsn
    const out: OutboxEntry[] = []
    let bytes = 0
    while (lsn <= this.#durableLsn() && out.length < maxRecords && bytes < maxBytes) {
      const index = this.#indexOf(lsn)
      const segment = this.#segments[index] as Segment
      const segmentEnd = index + 1 < this.#segments.length ? (this.#segments[index + 1] as Segment).firstLsn : Infinity
      const got = await this.#readSegment(segment, lsn, Math.min(segmentEnd - 1, this.#durableLsn()), {
        maxRecords: maxRecords - out.length,
        maxBytes: maxBytes - bytes,
        first: out.length === 0,
      })
      if (got.entries.length === 0) break
      for (const e of got.entries) {
        out.push(e)
        bytes += e.size
      }
      lsn = got.nextLsn
    }
    return out
  }

  async #readSegment(
    segment: Segment,
    fromLsn: number,
    lastLsn: number,
    limit: ReadLimit,
  ): Promise<{ entries: OutboxEntry[]; nextLsn: number }> {
    const c = this.#cursor
    const walker = await FrameWalker.open(
      segment,
      c && c.lsn <= fromLsn ? c : undefined,
      Math.max(64 * 1024, Math.min(limit.maxBytes + 4096, 8 * 1024 * 1024)),
    )
    const out: OutboxEntry[] = []
    let bytes = 0
    while (walker.lsn <= lastLsn && out.length < limit.maxRecords) {
      const length = await walker.frame()
      if (length === 'unframed') {
        // The frames from here to the segment's end cannot be found: each of their lsns goes out
        // as a corruption marker. The cursor stays here, so a later read comes back and marks on.
        this.#cursor = walker.position
        return { entries: out, nextLsn: this.#unframed(Math.max(walker.lsn, fromLsn), lastLsn, limit, out) }
      }
      if (walker.lsn >= fromLsn) {
        if (bytes + length > limit.maxBytes && (out.length > 0 || !limit.first)) break
        out.push(this.#entryAt(walker.lsn, walker.read(), length))
        bytes += length
      }
      walker.skip(length)
    }
    this.#cursor = walker.position
    return { entries: out, nextLsn: walker.lsn }
  }

  /** Markers for the lsns from `fromLsn` through `lastLsn` that no frame can be read for, as many as the read takes; returns the next lsn. */
  #unframed(fromLsn: number, lastLsn: number, limit: ReadLimit, out: OutboxEntry[]): number {
    const read: FrameRead = { kind: 'corrupt', reason: 'frame runs past the end of its segment file' }
    let lsn = fromLsn
    for (; lsn <= lastLsn && out.length < limit.maxRecords; lsn++)
      out.push(this.#entryAt(lsn, read, FRAME_HEADER_BYTES))
    return lsn
  }

  close(): Promise<void> {
    return this.#active.close()
  }
}
