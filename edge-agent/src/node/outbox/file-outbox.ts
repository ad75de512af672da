// The Node outbox. segment-log.ts holds the records in segment files,
// group-commit.ts writes them, SeqOutbox numbers them and meta.ts keeps the
// numbering in meta.json; oldest-record.ts knows the age of the first one held.
// This class ties them together: options, open and close, what a release
// does, peek, TTL and stats.
import { type FileHandle, mkdir, open } from 'node:fs/promises'
import { encodeFrame } from '../../core/outbox/frame.ts'
import { FrameSlab } from '../../core/outbox/frame-slab.ts'
import { type Outbox, type OutboxOptions, type OutboxStats, outboxDefaults } from '../../core/outbox/outbox.ts'
import { type OutboxEntry, OutboxError, type OutboxRecordInput, payloadOf } from '../../core/outbox/record.ts'
import { SeqOutbox } from '../../core/outbox/seq-outbox.ts'
import { type SeqState, toLsn } from '../../core/outbox/seq-space.ts'
import { GroupCommit } from './group-commit.ts'
import { lockDir } from './lock.ts'
import { MetaWriter } from './meta.ts'
import { OldestRecord } from './oldest-record.ts'
import { recover } from './recovery.ts'
import type { Segment } from './segment.ts'
import { SegmentLog } from './segment-log.ts'

export interface FileOutboxOptions extends OutboxOptions {
  /** A segment is sealed once it reaches this size (default 16 MiB, at most capBytes / 4). */
  segmentBytes?: number
  /** Most bytes one group commit writes (default 4 MiB). */
  maxGroupBytes?: number
  /** Clock, for tests. */
  now?: () => number
}

export class FileOutbox extends SeqOutbox implements Outbox {
  readonly dir: string
  readonly #options: Required<Omit<FileOutboxOptions, 'now'>>
  readonly #now: () => number
  readonly #unlock: () => void
  readonly #log: SegmentLog
  readonly #appends: GroupCommit
  readonly #oldest: OldestRecord
  /** Frames are copied into the group's one write, so they may share slabs. */
  readonly #slab = new FrameSlab()
  readonly #meta: MetaWriter
  #closed = false
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
    this.#unlock = unlock
    const durableLsn = () => this.durableLsn
    this.#log = new SegmentLog(dir, segments, active, durableLsn, (lsn, read, size) =>
      this.entryAt(lsn, read, size, this.#now()),
    )
    this.#oldest = new OldestRecord(this.#log, state, durableLsn)
    this.#meta = new MetaWriter(dir, () => ({ ...this.state, nextLsn: this.durableLsn + 1 }))
    this.#appends = new GroupCommit(this.#log, state, this.#options, {
      dropThrough: (lsn) => this.release(lsn, 'overflow'),
      durable: (lsn) => {
        this.durableLsn = lsn
        if (this.#oldest.appendedAt === undefined) this.#oldest.scheduleRefresh()
      },
      resolved: () => this.emit('appended', { seq: this.durableSeq }),
    })
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
      await outbox.#oldest.refresh()
      await outbox.#expire()
      return outbox
    } catch (error) {
      unlock()
      throw error
    }
  }

  append(record: OutboxRecordInput): Promise<number> {
    if (this.#closed) return Promise.reject(new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed'))
    let frame: Uint8Array
    const appendedAt = this.#now()
    try {
      const { encoding, payload } = payloadOf(record)
      // Seq and CRC are filled in when the record gets its lsn (GroupCommit).
      frame = encodeFrame(
        {
          ...record,
          seq: 0,
          encoding,
          payload,
          timestamp: record.timestamp ?? appendedAt,
          appendedAt,
        },
        { seal: false, alloc: this.#slab.alloc },
      )
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#appends.add(frame)
  }

  protected override forget(fromLsn: number, toLsn: number): number {
    this.#oldest.forget()
    this.#log.deleteReleased(this.state.releasedLsn)
    return toLsn - fromLsn + 1
  }

  protected override persistRelease(): void {
    // Once closed (or a write failed) nothing more is batched: a release lost
    // here is like any lost ack, its records are resent and acked as duplicates.
    if (!this.#closed && !this.#appends.failed) this.#meta.schedule()
    this.#oldest.scheduleRefresh()
  }

  protected override persistNumbering(): Promise<void> {
    return this.#meta.writeNow()
  }

  async peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    if (this.#options.ttlMs) await this.#expire()
    return this.#peekRaw(fromSeq, maxRecords, maxBytes)
  }

  async #peekRaw(fromSeq: number, maxRecords: number, maxBytes: number, retries = 3): Promise<OutboxEntry[]> {
    try {
      const fromLsn = Math.max(toLsn(this.state, fromSeq), this.state.releasedLsn + 1)
      return await this.#log.read(fromLsn, maxRecords, maxBytes)
    } catch (error) {
      // An ack deleted the segment under the read: read again from the new head.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || retries === 0) throw error
      return this.#peekRaw(fromSeq, maxRecords, maxBytes, retries - 1)
    }
  }

  async #expire(): Promise<void> {
    if (!this.#options.ttlMs || this.#closed) return
    const cutoff = this.#now() - this.#options.ttlMs
    if (this.#oldest.appendedAt === undefined) await this.#oldest.found()
    const oldest = this.#oldest.appendedAt
    // The oldest held record is young enough: nothing to read. Its age is
    // unknown when none is held, or when no intact record follows a damaged head.
    if (oldest === undefined ? this.durableLsn <= this.state.releasedLsn : oldest >= cutoff) return
    for (;;) {
      const head = await this.#peekRaw(this.firstSeq, 512, 1024 * 1024)
      let last: number | undefined
      for (const e of head) {
        // A marker's age is unknown: it leaves with the first intact record after it that is old enough.
        if (e.corrupt) continue
        if (e.appendedAt >= cutoff) break
        last = e.seq
      }
      if (last === undefined) return
      this.release(toLsn(this.state, last), 'ttl')
      if (last !== (head[head.length - 1] as OutboxEntry).seq) return
    }
  }

  stats(): OutboxStats {
    // Durable records still held (a group being written is not yet durable).
    const depth = Math.max(0, this.durableLsn - this.state.releasedLsn)
    const oldest = this.#oldest.appendedAt
    return {
      depth,
      bytes: this.#appends.diskBytes,
      capBytes: this.#options.capBytes,
      oldestAgeMs: depth > 0 && oldest !== undefined ? Math.max(0, this.#now() - oldest) : 0,
      ...this.seqStats(),
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    await this.#appends.drain()
    this.#closed = true
    clearInterval(this.#ttlTimer)
    try {
      // After a failed write close() still releases the directory, without writing more.
      if (!this.#appends.failed) await this.#meta.flush()
    } finally {
      await this.#log.close().catch(() => {})
      this.#unlock()
    }
  }
}
