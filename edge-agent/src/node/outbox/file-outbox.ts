// The Node outbox: segmented append-only files with group commit.
//
// Group commit: append() encodes its frame into the pending group and returns
// a promise. One flush runs at a time: it writes the whole group with one
// write() and one fdatasync(), then resolves every append in it. Appends that
// arrive during a flush form the next group, so under load each fsync covers
// thousands of records and alone each append waits for one fsync.
// A crash loses only appends whose promise had not resolved.
import { type FileHandle, mkdir, open, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeFrame, frameLengthAt, readFrame, stampFrame } from '../../core/outbox/frame.ts'
import { type Outbox, type OutboxOptions, type OutboxStats, outboxDefaults } from '../../core/outbox/outbox.ts'
import {
  type OutboxEntry,
  OutboxError,
  type OutboxRecordInput,
  outboxFull,
  payloadOf,
} from '../../core/outbox/record.ts'
import { SeqOutbox } from '../../core/outbox/seq-outbox.ts'
import { type SeqState, toLsn, toSeq } from '../../core/outbox/seq-space.ts'
import { lockDir } from './lock.ts'
import { writeMeta } from './meta.ts'
import { syncDir } from '../durable-file.ts'
import { recover } from './recovery.ts'
import { readAt, type Segment, segmentName } from './segment.ts'

export interface FileOutboxOptions extends OutboxOptions {
  /** A segment is sealed once it reaches this size (default 16 MiB, at most capBytes / 4). */
  segmentBytes?: number
  /** Most bytes one group commit writes (default 4 MiB). */
  maxGroupBytes?: number
  /** Clock, for tests. */
  now?: () => number
}

interface Pending {
  lsn: number
  frame: Uint8Array
  appendedAt: number
  resolve: (seq: number) => void
  reject: (error: Error) => void
}

export class FileOutbox extends SeqOutbox implements Outbox {
  readonly dir: string
  readonly #options: Required<Omit<FileOutboxOptions, 'now'>>
  readonly #now: () => number
  readonly #segments: Segment[]
  readonly #unlock: () => void
  #active: FileHandle
  #pending: Pending[] = []
  #waiting: Pending[] = []
  #admitting = false
  #pendingBytes = 0
  #flushing: Promise<void> | undefined
  #closed = false
  #metaDirty = false
  #metaTimer: ReturnType<typeof setTimeout> | undefined
  #metaWrite: Promise<void> = Promise.resolve()
  /** Where the last peek ended: lets the next one start without a scan. */
  #cursor: { lsn: number; segment: number; offset: number } | undefined
  #headAppendedAt: number | undefined
  /** Where the first held record was last found: the next search starts there and reads only released bytes. */
  #head: { lsn: number; segment: number; offset: number } | undefined
  #headRefresh: Promise<void> | undefined
  #ttlTimer: ReturnType<typeof setInterval> | undefined

  private constructor(
    dir: string,
    options: FileOutboxOptions,
    state: SeqState,
    segments: Segment[],
    active: FileHandle,
    unlock: () => void,
  ) {
    super(state)
    this.dir = dir
    const capBytes = options.capBytes ?? outboxDefaults.capBytes
    this.#options = {
      capBytes,
      overflow: options.overflow ?? outboxDefaults.overflow,
      ttlMs: options.ttlMs ?? outboxDefaults.ttlMs,
      segmentBytes: Math.max(4096, Math.min(options.segmentBytes ?? 16 * 1024 * 1024, Math.floor(capBytes / 4))),
      maxGroupBytes: options.maxGroupBytes ?? 4 * 1024 * 1024,
    }
    this.#now = options.now ?? Date.now
    this.#segments = segments
    this.#active = active
    this.#unlock = unlock
    if (this.#options.ttlMs) {
      this.#ttlTimer = setInterval(() => void this.#expire(), Math.max(1000, Math.min(this.#options.ttlMs / 4, 30_000)))
      this.#ttlTimer.unref?.()
    }
  }

  /** Opens (creating or recovering) the outbox in `dir`. */
  static async open(dir: string, options: FileOutboxOptions = {}): Promise<FileOutbox> {
    // Lock before recovery: recovery truncates torn tails, which must never
    // happen under another process still appending.
    await mkdir(dir, { recursive: true })
    const unlock = lockDir(dir)
    try {
      const recovered = await recover(dir)
      const last = recovered.segments[recovered.segments.length - 1] as Segment
      const active = await open(last.path, 'a')
      const outbox = new FileOutbox(dir, options, recovered.state, recovered.segments, active, unlock)
      await outbox.#refreshHead()
      await outbox.#expire()
      return outbox
    } catch (error) {
      unlock()
      throw error
    }
  }

  #diskBytes(): number {
    let n = this.#pendingBytes
    for (const s of this.#segments) n += s.size
    return n
  }

  append(record: OutboxRecordInput): Promise<number> {
    if (this.#closed) return Promise.reject(new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed'))
    let frame: Uint8Array
    const appendedAt = this.#now()
    try {
      const { encoding, payload } = payloadOf(record)
      // Seq and CRC are filled in when the record gets its lsn (#admit).
      frame = encodeFrame(
        {
          ...record,
          seq: 0,
          encoding,
          payload,
          timestamp: record.timestamp ?? appendedAt,
          appendedAt,
        },
        { seal: false },
      )
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { lsn: 0, frame, appendedAt, resolve, reject }
      if (this.#waiting.length || this.#mustWait(frame.length)) {
        this.#waiting.push(pending)
        void this.#admitWaiting()
        return
      }
      this.#admit(pending)
    })
  }

  /**
   * Under drop-oldest, a burst larger than what sealed segments hold has
   * nothing to drop until the current group is written and its segment
   * sealed: such appends wait, in order, instead of failing.
   */
  #mustWait(bytes: number): boolean {
    return (
      this.#options.overflow === 'drop-oldest' &&
      this.#diskBytes() + bytes > this.#options.capBytes &&
      this.#segments.length < 2 &&
      this.#flushing !== undefined
    )
  }

  async #admitWaiting(): Promise<void> {
    if (this.#admitting) return
    this.#admitting = true
    try {
      while (this.#waiting.length) {
        const next = this.#waiting[0] as Pending
        if (this.#mustWait(next.frame.length)) {
          await this.#flushing
          continue
        }
        this.#waiting.shift()
        this.#admit(next)
      }
    } finally {
      this.#admitting = false
    }
  }

  #admit(p: Pending): void {
    try {
      this.#makeRoom(p.frame.length)
    } catch (error) {
      p.reject(error as Error)
      return
    }
    p.lsn = this.state.nextLsn++
    stampFrame(p.frame, p.lsn)
    this.#pending.push(p)
    this.#pendingBytes += p.frame.length
    this.#flushing ??= this.#flush()
  }

  #makeRoom(bytes: number): void {
    while (this.#diskBytes() + bytes > this.#options.capBytes) {
      if (this.#options.overflow === 'reject' || this.#segments.length < 2) {
        throw outboxFull(this.#diskBytes(), this.#options.capBytes)
      }
      const lastLsn = (this.#segments[1] as Segment).firstLsn - 1
      this.release(lastLsn, 'overflow')
    }
  }

  protected override forget(fromLsn: number, toLsn: number): number {
    this.#headAppendedAt = undefined
    this.#deleteReleasedSegments()
    return toLsn - fromLsn + 1
  }

  protected override persistRelease(): void {
    this.#scheduleMeta()
    this.#scheduleHeadRefresh()
  }

  /** Sealed segments whose every record is released go whole. */
  #deleteReleasedSegments(): void {
    while (this.#segments.length > 1 && (this.#segments[1] as Segment).firstLsn - 1 <= this.state.releasedLsn) {
      const gone = this.#segments.shift() as Segment
      this.#cursor = undefined
      void unlink(gone.path).catch(() => {})
    }
  }

  /** Takes the next group off the pending appends: at least one, within one segment and maxGroupBytes. */
  #takeGroup(active: Segment): { group: Pending[]; bytes: number } {
    let bytes = 0
    let n = 0
    for (const p of this.#pending) {
      const next = bytes + p.frame.length
      if (n > 0 && (next > this.#options.maxGroupBytes || active.size + next > this.#options.segmentBytes)) break
      bytes = next
      n++
    }
    this.#pendingBytes -= bytes
    return { group: this.#pending.splice(0, n), bytes }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length) {
        const active = this.#segments[this.#segments.length - 1] as Segment
        const { group, bytes } = this.#takeGroup(active)
        try {
          const frames = group.map((p) => p.frame)
          await this.#active.write(Buffer.concat(frames, bytes), 0, bytes)
          await this.#active.datasync()
          active.size += bytes
          this.durableLsn = (group[group.length - 1] as Pending).lsn
          if (this.#headAppendedAt === undefined) this.#scheduleHeadRefresh()
          for (const p of group) p.resolve(toSeq(this.state, p.lsn))
          this.emit('appended', { seq: this.durableSeq })
          if (active.size >= this.#options.segmentBytes) await this.#roll()
        } catch (error) {
          const failure = new OutboxError('E_OUTBOX_CLOSED', `write failed: ${(error as Error).message}`)
          for (const p of [...group, ...this.#pending.splice(0)]) p.reject(failure)
          this.#pendingBytes = 0
          this.#closed = true
        }
      }
    } finally {
      this.#flushing = undefined
    }
  }

  async #roll(): Promise<void> {
    const firstLsn = this.durableLsn + 1
    const path = join(this.dir, segmentName(firstLsn))
    await writeFile(path, new Uint8Array(0))
    await syncDir(this.dir)
    await this.#active.close()
    this.#active = await open(path, 'a')
    this.#segments.push({ firstLsn, path, size: 0 })
    // The sealed segment may already be fully acked.
    this.#deleteReleasedSegments()
  }

  #segmentIndexOf(lsn: number): number {
    let lo = 0
    let hi = this.#segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.#segments[mid] as Segment).firstLsn <= lsn) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  async peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    if (this.#options.ttlMs) await this.#expire()
    return this.#peekRaw(fromSeq, maxRecords, maxBytes)
  }

  async #peekRaw(fromSeq: number, maxRecords: number, maxBytes: number, retries = 3): Promise<OutboxEntry[]> {
    try {
      return await this.#read(fromSeq, maxRecords, maxBytes)
    } catch (error) {
      // An ack deleted the segment under the read: read again from the new head.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || retries === 0) throw error
      return this.#peekRaw(fromSeq, maxRecords, maxBytes, retries - 1)
    }
  }

  async #read(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    let lsn = Math.max(toLsn(this.state, fromSeq), this.state.releasedLsn + 1)
    const out: OutboxEntry[] = []
    let bytes = 0
    while (lsn <= this.durableLsn && out.length < maxRecords && bytes < maxBytes) {
      const index = this.#segmentIndexOf(lsn)
      const segment = this.#segments[index] as Segment
      const segmentEnd = index + 1 < this.#segments.length ? (this.#segments[index + 1] as Segment).firstLsn : Infinity
      const got = await this.#readSegment(segment, lsn, Math.min(segmentEnd - 1, this.durableLsn), {
        maxRecords: maxRecords - out.length,
        maxBytes: maxBytes - bytes,
        first: out.length === 0,
      })
      if (got.length === 0) break
      for (const e of got) {
        out.push(e)
        bytes += e.size
      }
      lsn = toLsn(this.state, (got[got.length - 1] as OutboxEntry).seq) + 1
    }
    return out
  }

  async #readSegment(
    segment: Segment,
    fromLsn: number,
    lastLsn: number,
    limit: { maxRecords: number; maxBytes: number; first: boolean },
  ): Promise<OutboxEntry[]> {
    let lsn = segment.firstLsn
    let offset = 0
    const c = this.#cursor
    if (c && c.segment === segment.firstLsn && c.lsn <= fromLsn) {
      lsn = c.lsn
      offset = c.offset
    }
    const out: OutboxEntry[] = []
    let bytes = 0
    let chunkAt = offset
    let chunk = await readAt(
      segment.path,
      offset,
      Math.max(64 * 1024, Math.min(limit.maxBytes + 4096, 8 * 1024 * 1024)),
    )
    let at = 0
    while (lsn <= lastLsn && out.length < limit.maxRecords) {
      const length = frameLengthAt(chunk, at)
      if (length === undefined || at + length > chunk.length) {
        if (chunkAt + at >= segment.size) break
        chunkAt += at
        chunk = await readAt(segment.path, chunkAt, Math.max(length ?? 0, 256 * 1024))
        at = 0
        if (chunk.length === 0) break
        continue
      }
      if (lsn < fromLsn) {
        at += length
        lsn++
        continue
      }
      if (bytes + length > limit.maxBytes && (out.length > 0 || !limit.first)) break
      const read = readFrame(chunk, at)
      out.push(this.entryAt(lsn, read, length, this.#now()))
      bytes += length
      at += length
      lsn++
    }
    this.#cursor = { lsn, segment: segment.firstLsn, offset: chunkAt + at }
    return out
  }

  protected override persistNumbering(): Promise<void> {
    return this.#writeMetaNow()
  }

  async #expire(): Promise<void> {
    if (!this.#options.ttlMs || this.#closed) return
    const cutoff = this.#now() - this.#options.ttlMs
    if (this.#headAppendedAt === undefined) await (this.#headRefresh ?? this.#refreshHead())
    // The oldest held record is young enough: nothing to read.
    if (this.#headAppendedAt === undefined || this.#headAppendedAt >= cutoff) return
    for (;;) {
      const head = await this.#peekRaw(this.firstSeq, 512, 1024 * 1024)
      if (head.length === 0) return
      let last: number | undefined
      for (const e of head) {
        if (e.appendedAt >= cutoff) break
        last = e.seq
      }
      if (last === undefined) return
      this.release(toLsn(this.state, last), 'ttl')
      if (last !== (head[head.length - 1] as OutboxEntry).seq) return
    }
  }

  /** Acks come in bursts: one search for the new head serves them all. */
  #scheduleHeadRefresh(): void {
    this.#headRefresh ??= Promise.resolve()
      .then(() => this.#refreshHead())
      .catch(() => {})
      .finally(() => {
        this.#headRefresh = undefined
      })
  }

  /**
   * Finds the first held record and its append time (for oldestAgeMs and
   * TTL). Starts where the head was last found, so an ack costs a read of
   * the bytes it released, not of the segment from its start; the link's
   * read cursor is left alone.
   */
  async #refreshHead(): Promise<void> {
    const lsn = this.state.releasedLsn + 1
    if (lsn > this.durableLsn) {
      this.#headAppendedAt = undefined
      return
    }
    const segment = this.#segments[this.#segmentIndexOf(lsn)] as Segment
    const known = this.#head
    let at = known && known.segment === segment.firstLsn && known.lsn <= lsn ? known : undefined
    at ??= { lsn: segment.firstLsn, segment: segment.firstLsn, offset: 0 }
    let chunk: Uint8Array = new Uint8Array(0)
    let chunkAt = at.offset
    let pos = 0
    let cur = at.lsn
    for (;;) {
      const length = frameLengthAt(chunk, pos)
      if (length === undefined || pos + length > chunk.length) {
        chunkAt += pos
        pos = 0
        chunk = await readAt(segment.path, chunkAt, Math.max(length ?? 0, 256 * 1024))
        const first = frameLengthAt(chunk, 0)
        // Deleted or not yet written under us: the next release searches again.
        if (first === undefined || first > chunk.length) return
        continue
      }
      if (cur === lsn) break
      pos += length
      cur++
    }
    if (this.state.releasedLsn + 1 !== lsn) return // Released again meanwhile; that release searches anew.
    this.#head = { lsn, segment: segment.firstLsn, offset: chunkAt + pos }
    const read = readFrame(chunk, pos)
    if (read.kind === 'record') this.#headAppendedAt = read.entry.appendedAt
  }

  stats(): OutboxStats {
    // Durable records still held (a group being written is not yet durable).
    const depth = Math.max(0, this.durableLsn - this.state.releasedLsn)
    return {
      depth,
      bytes: this.#diskBytes(),
      capBytes: this.#options.capBytes,
      oldestAgeMs:
        depth > 0 && this.#headAppendedAt !== undefined ? Math.max(0, this.#now() - this.#headAppendedAt) : 0,
      ...this.seqStats(),
    }
  }

  #scheduleMeta(): void {
    this.#metaDirty = true
    if (this.#metaTimer || this.#closed) return
    // Acks are cheap to lose (the records are resent and acked as duplicates): batch them.
    this.#metaTimer = setTimeout(() => {
      this.#metaTimer = undefined
      void this.#writeMetaNow().catch(() => {})
    }, 200)
    this.#metaTimer.unref?.()
  }

  #writeMetaNow(): Promise<void> {
    // A write now covers whatever the batched one was waiting to write.
    clearTimeout(this.#metaTimer)
    this.#metaTimer = undefined
    this.#metaDirty = false
    const snapshot = { ...this.state, nextLsn: this.durableLsn + 1 }
    this.#metaWrite = this.#metaWrite.catch(() => {}).then(() => writeMeta(this.dir, snapshot))
    return this.#metaWrite
  }

  async close(): Promise<void> {
    if (this.#closed) return
    while (this.#flushing || this.#waiting.length) await (this.#flushing ?? new Promise((r) => setTimeout(r, 5)))
    this.#closed = true
    clearTimeout(this.#metaTimer)
    clearInterval(this.#ttlTimer)
    if (this.#metaDirty) await this.#writeMetaNow().catch(() => {})
    await this.#metaWrite.catch(() => {})
    await this.#active.close()
    this.#unlock()
  }
}
