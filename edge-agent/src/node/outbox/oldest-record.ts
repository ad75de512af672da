// The first record the outbox still holds: where it is and when it was
// appended, for stats().oldestAgeMs and for TTL, which then needs no read
// while the oldest record is young enough.
import { frameLengthAt, readFrame } from '../../core/outbox/frame.ts'
import type { SeqState } from '../../core/outbox/seq-space.ts'
import { readAt } from './segment.ts'
import type { SegmentLog } from './segment-log.ts'

export class OldestRecord {
  readonly #log: SegmentLog
  readonly #state: SeqState
  readonly #durableLsn: () => number
  #appendedAt: number | undefined
  /** Where the first held record was last found: the next search starts there and reads only released bytes. */
  #at: { lsn: number; segment: number; offset: number } | undefined
  #refreshing: Promise<void> | undefined

  constructor(log: SegmentLog, state: SeqState, durableLsn: () => number) {
    this.#log = log
    this.#state = state
    this.#durableLsn = durableLsn
  }

  /** When the first held record was appended; undefined when none is held or it is not found yet. */
  get appendedAt(): number | undefined {
    return this.#appendedAt
  }

  /** The first held record was released: its successor is searched for by the next refresh. */
  forget(): void {
    this.#appendedAt = undefined
  }

  /** Acks come in bursts: one search for the new head serves them all. */
  scheduleRefresh(): void {
    this.#refreshing ??= Promise.resolve()
      .then(() => this.refresh())
      .catch(() => {})
      .finally(() => {
        this.#refreshing = undefined
      })
  }

  /** The search under way, or a new one. */
  found(): Promise<void> {
    return this.#refreshing ?? this.refresh()
  }

  /**
   * Finds the first held record and its append time. Starts where it was last
   * found, so an ack costs a read of the bytes it released, not of the
   * segment from its start; the log's read cursor is left alone.
   */
  async refresh(): Promise<void> {
    const lsn = this.#state.releasedLsn + 1
    if (lsn > this.#durableLsn()) {
      this.#appendedAt = undefined
      return
    }
    const segment = this.#log.segmentOf(lsn)
    const known = this.#at
    let at = known && known.segment === segment.firstLsn && known.lsn <= lsn ? known : undefined
    at ??= { lsn: segment.firstLsn, segment: segment.firstLsn, offset: 0 }
    let chunk: Uint8Array = new Uint8Array(0)
    let chunkAt = at.offset
    let pos = 0
    let cur = at.lsn
    for (;;) {
      const length = frameLengthAt(chunk, pos)
      if (length === undefined || pos + length > chunk.length) {
        // A damaged length field: no age to learn here (and no buffer of its size to allocate).
        if (length !== undefined && chunkAt + pos + length > segment.size) return
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
    if (this.#state.releasedLsn + 1 !== lsn) return // Released again meanwhile; that release searches anew.
    this.#at = { lsn, segment: segment.firstLsn, offset: chunkAt + pos }
    const read = readFrame(chunk, pos)
    if (read.kind === 'record') this.#appendedAt = read.entry.appendedAt
  }
}
