// An in-memory outbox, for unit tests only: it forgets everything on exit.
import { encodeFrame } from './frame.ts'
import { type Outbox, type OutboxOptions, type OutboxStats, outboxDefaults } from './outbox.ts'
import { type OutboxEntry, OutboxError, type OutboxRecordInput, outboxFull, payloadOf } from './record.ts'
import { SeqOutbox } from './seq-outbox.ts'
import { initialSeqState, toLsn, toSeq } from './seq-space.ts'

interface Held {
  lsn: number
  entry: OutboxEntry
}

export class MemoryOutbox extends SeqOutbox implements Outbox {
  readonly #options: Required<OutboxOptions>
  readonly #now: () => number
  #held: Held[] = []
  #bytes = 0
  #closed = false

  constructor(options: OutboxOptions = {}, now: () => number = Date.now) {
    super(initialSeqState())
    this.#options = { ...outboxDefaults, ...options }
    this.#now = now
  }

  async append(record: OutboxRecordInput): Promise<number> {
    if (this.#closed) throw new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed')
    const { encoding, payload } = payloadOf(record)
    const appendedAt = this.#now()
    const lsn = this.state.nextLsn
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
      const oldest = this.#held[0]
      if (this.#options.overflow === 'reject' || oldest === undefined) {
        throw outboxFull(this.#bytes, this.#options.capBytes)
      }
      this.release(oldest.lsn, 'overflow')
    }
    this.state.nextLsn++
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
    this.durableLsn = lsn
    const seq = toSeq(this.state, lsn)
    this.emit('appended', { seq })
    return seq
  }

  protected override forget(_fromLsn: number, toLsn: number): number {
    let n = 0
    while (n < this.#held.length && (this.#held[n] as Held).lsn <= toLsn) n++
    for (const h of this.#held.splice(0, n)) this.#bytes -= h.entry.size
    return n
  }

  protected override persistRelease(): void {
    // Nothing outlives the process.
  }

  protected override async persistNumbering(): Promise<void> {
    // Nothing outlives the process.
  }

  #expire(): void {
    if (!this.#options.ttlMs) return
    const cutoff = this.#now() - this.#options.ttlMs
    let n = 0
    while (n < this.#held.length && (this.#held[n] as Held).entry.appendedAt < cutoff) n++
    if (n) this.release((this.#held[n - 1] as Held).lsn, 'ttl')
  }

  async peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    this.#expire()
    const out: OutboxEntry[] = []
    let bytes = 0
    const fromLsn = toLsn(this.state, fromSeq)
    for (const h of this.#held) {
      if (h.lsn < fromLsn) continue
      if (out.length >= maxRecords || (out.length > 0 && bytes + h.entry.size > maxBytes)) break
      out.push({ ...h.entry, seq: toSeq(this.state, h.lsn) })
      bytes += h.entry.size
    }
    return out
  }

  stats(): OutboxStats {
    this.#expire()
    const head = this.#held[0]
    return {
      depth: this.#held.length,
      bytes: this.#bytes,
      capBytes: this.#options.capBytes,
      oldestAgeMs: head ? Math.max(0, this.#now() - head.entry.appendedAt) : 0,
      ...this.seqStats(),
    }
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}
