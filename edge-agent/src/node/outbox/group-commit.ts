// Group commit: an append's frame joins the pending group and its promise
// waits. One flush runs at a time: it writes the whole group with one write()
// and one fdatasync(), then resolves every append in it. Appends that arrive
// during a flush form the next group, so under load each fsync covers
// thousands of records and alone each append waits for one fsync.
// A crash loses only appends whose promise had not resolved.
import type { OverflowPolicy } from '../../core/outbox/outbox.ts'
import { OutboxError, outboxFull } from '../../core/outbox/record.ts'
import { stampFrame } from '../../core/outbox/frame.ts'
import { type SeqState, toSeq } from '../../core/outbox/seq-space.ts'
import type { SegmentLog } from './segment-log.ts'

export interface GroupCommitLimits {
  capBytes: number
  overflow: OverflowPolicy
  /** The active segment is sealed once it reaches this size; a group never crosses it. */
  segmentBytes: number
  maxGroupBytes: number
}

/** What the outbox does at each step of an append's way to disk. */
export interface GroupCommitHooks {
  /** drop-oldest needs room: releases every record through `lsn`, the end of the oldest sealed segment. */
  dropThrough(lsn: number): void
  /** Records through `lsn` are written and synced; their appends resolve right after. */
  durable(lsn: number): void
  /** Every append of the group just written has resolved. */
  resolved(): void
}

interface Pending {
  lsn: number
  frame: Uint8Array
  resolve: (seq: number) => void
  reject: (error: Error) => void
}

export class GroupCommit {
  readonly #log: SegmentLog
  readonly #state: SeqState
  readonly #limits: GroupCommitLimits
  readonly #hooks: GroupCommitHooks
  /** Admitted (numbered, counted against the cap), not yet written. */
  #pending: Pending[] = []
  #pendingBytes = 0
  /** The group being written: on its way to disk, not yet in the log's size. */
  #writingBytes = 0
  /** Not yet admitted: waiting, in order, for room (see #mustWait). */
  #waiting: Pending[] = []
  #admitting = false
  #flushing: Promise<void> | undefined
  /** Set by a failed write: nothing is written after it. */
  #failure: OutboxError | undefined

  constructor(log: SegmentLog, state: SeqState, limits: GroupCommitLimits, hooks: GroupCommitHooks) {
    this.#log = log
    this.#state = state
    this.#limits = limits
    this.#hooks = hooks
  }

  /** Whether a write failed: every append since is refused, and nothing more is written. */
  get failed(): boolean {
    return this.#failure !== undefined
  }

  /** Bytes on disk and on their way there: what capBytes bounds. */
  get diskBytes(): number {
    return this.#log.bytes + this.#writingBytes + this.#pendingBytes
  }

  /**
   * Queues an encoded frame (seq and CRC not yet stamped); resolves with its
   * seq once it is durable, rejects with E_OUTBOX_FULL or E_OUTBOX_CLOSED.
   */
  add(frame: Uint8Array): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure)
    return new Promise((resolve, reject) => {
      const pending: Pending = { lsn: 0, frame, resolve, reject }
      if (this.#waiting.length || this.#mustWait(frame.length)) {
        this.#waiting.push(pending)
        void this.#admitWaiting()
        return
      }
      this.#admit(pending)
    })
  }

  /** Waits until every append added so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.#flushing || this.#waiting.length) await (this.#flushing ?? new Promise((r) => setTimeout(r, 5)))
  }

  /**
   * Under drop-oldest, a burst larger than what sealed segments hold has
   * nothing to drop until the current group is written and its segment
   * sealed: such appends wait, in order, instead of failing.
   */
  #mustWait(bytes: number): boolean {
    return (
      this.#limits.overflow === 'drop-oldest' &&
      this.diskBytes + bytes > this.#limits.capBytes &&
      this.#log.oldestSealedEnd === undefined &&
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
    p.lsn = this.#state.nextLsn++
    stampFrame(p.frame, p.lsn)
    this.#pending.push(p)
    this.#pendingBytes += p.frame.length
    this.#flushing ??= this.#flush()
  }

  #makeRoom(bytes: number): void {
    while (this.diskBytes + bytes > this.#limits.capBytes) {
      const oldestEnd = this.#log.oldestSealedEnd
      if (this.#limits.overflow === 'reject' || oldestEnd === undefined) {
        throw outboxFull(this.diskBytes, this.#limits.capBytes)
      }
      this.#hooks.dropThrough(oldestEnd)
    }
  }

  /** Takes the next group off the pending appends: at least one, within one segment and maxGroupBytes. */
  #takeGroup(activeSize: number): { group: Pending[]; bytes: number } {
    let bytes = 0
    let n = 0
    for (const p of this.#pending) {
      const next = bytes + p.frame.length
      if (n > 0 && (next > this.#limits.maxGroupBytes || activeSize + next > this.#limits.segmentBytes)) break
      bytes = next
      n++
    }
    this.#pendingBytes -= bytes
    return { group: this.#pending.splice(0, n), bytes }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length) {
        const { group, bytes } = this.#takeGroup(this.#log.active.size)
        this.#writingBytes = bytes
        try {
          try {
            await this.#log.append(
              group.map((p) => p.frame),
              bytes,
            )
          } finally {
            this.#writingBytes = 0
          }
          const lastLsn = (group[group.length - 1] as Pending).lsn
          this.#hooks.durable(lastLsn)
          for (const p of group) p.resolve(toSeq(this.#state, p.lsn))
          this.#hooks.resolved()
          if (this.#log.active.size >= this.#limits.segmentBytes) {
            await this.#log.roll(lastLsn + 1)
            // The sealed segment may already be fully acked.
            this.#log.deleteReleased(this.#state.releasedLsn)
          }
        } catch (error) {
          const failure = new OutboxError('E_OUTBOX_CLOSED', `write failed: ${(error as Error).message}`)
          this.#failure = failure
          // Appends waiting for room too: admitted later, they would be written after the failure.
          for (const p of [...group, ...this.#pending.splice(0), ...this.#waiting.splice(0)]) p.reject(failure)
          this.#pendingBytes = 0
        }
      }
    } finally {
      this.#flushing = undefined
    }
  }
}
