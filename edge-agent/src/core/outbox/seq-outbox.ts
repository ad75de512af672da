// What every outbox store shares: the seq getters, ack and resume over the
// bookkeeping of seq-space.ts, the counting of drops and corrupt records, and
// the seq half of stats(). A store keeps the records; this keeps their numbers.
import { Emitter } from './emitter.ts'
import type { OutboxEvents, OutboxStats } from './outbox.ts'
import type { FrameRead } from './frame.ts'
import type { OutboxEntry } from './record.ts'
import { applyResume, needsExactWatermark, recordAck, type SeqState, toSeq } from './seq-space.ts'

export type DropReason = OutboxEvents['dropped']['reason']

const NULL_JSON = new TextEncoder().encode('null')

export abstract class SeqOutbox extends Emitter<OutboxEvents> {
  protected readonly state: SeqState
  /** Highest lsn whose append resolved: peek, ack and resume never go past it. */
  protected durableLsn: number
  /** Corrupt records up to here were counted already (this process; a restart may count one again). */
  #corruptReportedLsn = 0

  protected constructor(state: SeqState) {
    super()
    this.state = state
    this.durableLsn = state.nextLsn - 1
  }

  /**
   * Everything through `lsn` is gone; a `reason` counts the unacked records as
   * dropped. The store forgets them first, so a `dropped` listener sees the
   * outbox as it is without them (firstSeq past toSeq) in every store; then
   * the store persists the release.
   */
  protected release(lsn: number, reason?: DropReason): void {
    if (lsn <= this.state.releasedLsn) return
    const fromLsn = this.state.releasedLsn + 1
    this.state.releasedLsn = lsn
    const count = this.forget(fromLsn, lsn)
    if (reason && count > 0) this.#countDropped(reason, count, fromLsn, lsn)
    this.persistRelease(lsn)
  }

  /** Drops the store's records `fromLsn`..`toLsn` (`state.releasedLsn` is already `toLsn`); returns how many it held. */
  protected abstract forget(fromLsn: number, toLsn: number): number

  /** Makes a release durable, now or soon. */
  protected abstract persistRelease(lsn: number): void

  /** Makes a new numbering (the shift) durable. */
  protected abstract persistNumbering(): Promise<void>

  get needsExactWatermark(): boolean {
    return needsExactWatermark(this.state)
  }

  get firstSeq(): number {
    return toSeq(this.state, this.state.releasedLsn + 1)
  }

  get nextSeq(): number {
    return toSeq(this.state, this.state.nextLsn)
  }

  get durableSeq(): number {
    return toSeq(this.state, this.durableLsn)
  }

  async ack(throughSeq: number): Promise<void> {
    this.release(recordAck(this.state, throughSeq, this.durableLsn))
  }

  async resume(watermark: number): Promise<number> {
    const { releaseLsn, renumbered } = applyResume(this.state, watermark, this.durableLsn)
    this.release(releaseLsn)
    if (renumbered) {
      // Durable before any record goes out under the new numbering.
      await this.persistNumbering()
      this.emit('renumbered', { shift: this.state.shift, firstSeq: this.firstSeq })
    }
    return this.firstSeq
  }

  /** Counts `count` records (lsns `fromLsn`..`toLsn`) as removed unsent, and says so. */
  #countDropped(reason: DropReason, count: number, fromLsn: number, toLsn: number): void {
    if (reason === 'overflow') this.state.droppedOverflow += count
    else this.state.droppedTtl += count
    this.emit('dropped', { count, reason, fromSeq: toSeq(this.state, fromLsn), toSeq: toSeq(this.state, toLsn) })
  }

  /**
   * What goes out for the frame stored at `lsn`: its record, renumbered; or,
   * when its bytes failed their CRC (or belong to another lsn), a marker in
   * its place, so the seqs stay dense (docs/outbox.md). A corrupt record is
   * counted and reported once, however often a rewind reads it again.
   */
  protected entryAt(lsn: number, read: FrameRead, size: number, now: number): OutboxEntry {
    const seq = toSeq(this.state, lsn)
    if (read.kind === 'record' && read.entry.seq === lsn) return { ...read.entry, seq }
    if (lsn > this.#corruptReportedLsn) {
      this.#corruptReportedLsn = lsn
      this.state.corrupted++
      const reason =
        read.kind === 'corrupt' ? read.reason : read.kind === 'record' ? 'frame out of sequence' : 'truncated'
      this.emit('corrupt', { seq, reason })
    }
    return {
      seq,
      encoding: 'json',
      payload: NULL_JSON.slice(),
      headers: { 'kafka-edge-corrupt': 'crc32c' },
      timestamp: now,
      appendedAt: now,
      size,
      corrupt: true,
    }
  }

  /** The part of stats() that comes from the numbering. */
  protected seqStats(): Pick<OutboxStats, 'nextSeq' | 'ackedSeq' | 'dropped' | 'corrupted'> {
    return {
      nextSeq: this.nextSeq,
      ackedSeq: Math.max(0, toSeq(this.state, this.state.ackedLsn)),
      dropped: { overflow: this.state.droppedOverflow, ttl: this.state.droppedTtl },
      corrupted: this.state.corrupted,
    }
  }
}
