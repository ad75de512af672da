// The first record the outbox still holds: where it is and when it was
// appended, for stats().oldestAgeMs and for TTL, which then needs no read
// while the oldest record is young enough.
import type { SeqState } from '../../core/outbox/seq-space.ts'
import { type FramePosition, FrameWalker } from './frame-walker.ts'
import type { SegmentLog } from './segment-log.ts'

export class OldestRecord {
  readonly #log: SegmentLog
  readonly #state: SeqState
  readonly #durableLsn: () => number
  #appendedAt: number | undefined
  /** Where the first held record was last found: the next search starts there and reads only released bytes. */
  #at: FramePosition | undefined
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
    const known = this.#at
    const walker = await FrameWalker.open(
      this.#log.segmentOf(lsn),
      known && known.lsn <= lsn ? known : undefined,
      256 * 1024,
    )
    let length = await walker.frame()
    while (length !== 'unframed' && walker.lsn < lsn) {
      walker.skip(length)
      length = await walker.frame()
    }
    // Damaged, or deleted or not yet written under us: no age to learn; the next release searches again.
    if (length === 'unframed') return
    if (this.#state.releasedLsn + 1 !== lsn) return // Released again meanwhile; that release searches anew.
    this.#at = walker.position
    // A damaged head has no age of its own. It was appended before the first
    // intact record after it, so it is at least that old: TTL never drops it early.
    while (length !== 'unframed') {
      const read = walker.read()
      if (read.kind === 'record' && read.entry.seq === walker.lsn) {
        this.#appendedAt = read.entry.appendedAt
        return
      }
      walker.skip(length)
      length = await walker.frame()
    }
  }
}
