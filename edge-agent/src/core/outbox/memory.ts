// An in-memory outbox, for unit tests only: it forgets everything on exit.
import { Emitter } from './emitter.ts'
import { encodeFrame } from './frame.ts'
import { type Outbox, type OutboxEvents, type OutboxOptions, type OutboxStats, outboxDefaults } from './outbox.ts'
import { type OutboxEntry, OutboxError, type OutboxRecordInput, payloadOf } from './record.ts'
import {
  applyResume,
  needsExactWatermark,
  initialSeqState,
  recordAck,
  type SeqState,
  toLsn,
  toSeq,
} from './seq-space.ts'

interface Held {
  lsn: number
  entry: OutboxEntry
}

export class MemoryOutbox extends Emitter<OutboxEvents> implements Outbox {
  readonly #options: Required<OutboxOptions>
  readonly #now: () => number
  readonly #state: SeqState = initialSeqState()
  #held: Held[] = []
  #bytes = 0
  #closed = false

  constructor(options: OutboxOptions = {}, now: () => number = Date.now) {
    super()
    this.#options = { ...outboxDefaults, ...options }
    this.#now = now
  }

  get needsExactWatermark(): boolean {
    return needsExactWatermark(this.#state)
  }

  get firstSeq(): number {
    return toSeq(this.#state, this.#state.releasedLsn + 1)
  }

  get nextSeq(): number {
    return toSeq(this.#state, this.#state.nextLsn)
  }

  get durableSeq(): number {
    return this.nextSeq - 1
  }

  async append(record: OutboxRecordInput): Promise<number> {
    if (this.#closed) throw new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed')
    const { encoding, payload } = payloadOf(record)
    const appendedAt = this.#now()
    const lsn = this.#state.nextLsn
    const frame = encodeFrame({
      ...record,
      seq: lsn,
      encoding,
      payload,
      timestamp: record.timestamp ?? appendedAt,
      appendedAt,
    })
    this.#expire()
    while (this.#bytes + frame.length > this.#options.capBytes) {
      if (this.#options.overflow === 'reject' || this.#held.length === 0) {
        throw new OutboxError(
          'E_OUTBOX_FULL',
          `the outbox holds ${this.#bytes} of ${this.#options.capBytes} bytes; wait for the link to drain it`,
        )
      }
      this.#dropHead(1, 'overflow')
    }
    this.#state.nextLsn++
    const entry: OutboxEntry = {
      seq: 0,
      encoding,
      payload,
      timestamp: record.timestamp ?? appendedAt,
      appendedAt,
      size: frame.length,
    }
    if (record.topic !== undefined) entry.topic = record.topic
    if (record.headers !== undefined) entry.headers = record.headers
    this.#held.push({ lsn, entry })
    this.#bytes += frame.length
    const seq = toSeq(this.#state, lsn)
    this.emit('appended', { seq })
    return seq
  }

  #dropHead(count: number, reason: 'overflow' | 'ttl'): void {
    const gone = this.#held.splice(0, count)
    if (gone.length === 0) return
    for (const h of gone) this.#bytes -= h.entry.size
    const last = (gone[gone.length - 1] as Held).lsn
    this.#state.releasedLsn = last
    if (reason === 'overflow') this.#state.droppedOverflow += gone.length
    else this.#state.droppedTtl += gone.length
    this.emit('dropped', {
      count: gone.length,
      reason,
      fromSeq: toSeq(this.#state, (gone[0] as Held).lsn),
      toSeq: toSeq(this.#state, last),
    })
  }

  #expire(): void {
    if (!this.#options.ttlMs) return
    const cutoff = this.#now() - this.#options.ttlMs
    let n = 0
    while (n < this.#held.length && (this.#held[n] as Held).entry.appendedAt < cutoff) n++
    if (n) this.#dropHead(n, 'ttl')
  }

  async peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    this.#expire()
    const out: OutboxEntry[] = []
    let bytes = 0
    const fromLsn = toLsn(this.#state, fromSeq)
    for (const h of this.#held) {
      if (h.lsn < fromLsn) continue
      if (out.length >= maxRecords || (out.length > 0 && bytes + h.entry.size > maxBytes)) break
      out.push({ ...h.entry, seq: toSeq(this.#state, h.lsn) })
      bytes += h.entry.size
    }
    return out
  }

  async ack(throughSeq: number): Promise<void> {
    this.#releaseThrough(recordAck(this.#state, throughSeq, this.#state.nextLsn - 1))
  }

  #releaseThrough(lsn: number): void {
    if (lsn <= this.#state.releasedLsn) return
    let n = 0
    while (n < this.#held.length && (this.#held[n] as Held).lsn <= lsn) n++
    for (const h of this.#held.splice(0, n)) this.#bytes -= h.entry.size
    this.#state.releasedLsn = lsn
  }

  async resume(watermark: number): Promise<number> {
    const { releaseLsn, renumbered } = applyResume(this.#state, watermark, this.#state.nextLsn - 1)
    this.#releaseThrough(releaseLsn)
    if (renumbered) this.emit('renumbered', { shift: this.#state.shift, firstSeq: this.firstSeq })
    return this.firstSeq
  }

  stats(): OutboxStats {
    this.#expire()
    const head = this.#held[0]
    return {
      depth: this.#held.length,
      bytes: this.#bytes,
      capBytes: this.#options.capBytes,
      oldestAgeMs: head ? Math.max(0, this.#now() - head.entry.appendedAt) : 0,
      nextSeq: this.nextSeq,
      ackedSeq: Math.max(0, toSeq(this.#state, this.#state.ackedLsn)),
      dropped: { overflow: this.#state.droppedOverflow, ttl: this.#state.droppedTtl },
      corrupted: this.#state.corrupted,
    }
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}
