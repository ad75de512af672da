// The browser outbox: IndexedDB through `idb`. Records are stored as the same
// CRC-framed bytes as on Node, keyed by lsn; meta holds the sequence
// bookkeeping. Appends of one task go in one readwrite transaction with
// durability "strict" (group commit); append() resolves when it completes.
import { type IDBPDatabase, openDB } from 'idb'
import { encodeFrame, readFrame } from '../../core/outbox/frame.ts'
import { type Outbox, type OutboxOptions, type OutboxStats, outboxDefaults } from '../../core/outbox/outbox.ts'
import {
  type OutboxEntry,
  OutboxError,
  type OutboxRecordInput,
  outboxFull,
  payloadOf,
} from '../../core/outbox/record.ts'
import { SeqOutbox } from '../../core/outbox/seq-outbox.ts'
import { initialSeqState, type SeqState, toLsn, toSeq } from '../../core/outbox/seq-space.ts'

interface Held {
  lsn: number
  size: number
  appendedAt: number
}

interface Pending extends Held {
  frame: Uint8Array
  resolve: (seq: number) => void
  reject: (error: Error) => void
}

export interface IdbOutboxOptions extends OutboxOptions {
  now?: () => number
}

export class IdbOutbox extends SeqOutbox implements Outbox {
  readonly #db: IDBPDatabase
  readonly #options: Required<OutboxOptions>
  readonly #now: () => number
  /** lsn, size and age of every held record, oldest first: the cap and TTL work from it. */
  #held: Held[]
  #bytes: number
  #pending: Pending[] = []
  #flushing: Promise<void> | undefined
  #closed = false

  private constructor(db: IDBPDatabase, options: IdbOutboxOptions, state: SeqState, held: Held[]) {
    super(state)
    this.#db = db
    this.#options = { ...outboxDefaults, ...options }
    this.#now = options.now ?? Date.now
    this.#held = held
    this.#bytes = held.reduce((n, h) => n + h.size, 0)
  }

  /** Opens the outbox `name`, and asks the browser to keep its storage (navigator.storage.persist). */
  static async open(name = 'default', options: IdbOutboxOptions = {}): Promise<IdbOutbox> {
    const storage = (globalThis as { navigator?: { storage?: { persist?: () => Promise<boolean> } } }).navigator
      ?.storage
    await storage?.persist?.().catch(() => false)
    const db = await openDB(`kafka-edge-outbox-${name}`, 1, {
      upgrade(database) {
        database.createObjectStore('records')
        database.createObjectStore('meta')
      },
    })
    const state: SeqState = { ...initialSeqState(), ...((await db.get('meta', 'state')) as Partial<SeqState>) }
    const held: Held[] = []
    let cursor = await db.transaction('records').store.openCursor(IDBKeyRange.lowerBound(state.releasedLsn, true))
    while (cursor) {
      const frame = cursor.value as Uint8Array
      const read = readFrame(frame, 0)
      const lsn = Number(cursor.key)
      const intact = read.kind === 'record' && read.entry.seq === lsn
      held.push({ lsn, size: frame.length, appendedAt: intact ? read.entry.appendedAt : Number.NaN })
      state.nextLsn = Math.max(state.nextLsn, lsn + 1)
      cursor = await cursor.continue()
    }
    // A record whose bytes fail their check has no age of its own. It was
    // appended before the next intact one, so it is at least that old (as old
    // as now when none follows): TTL never drops it early.
    let next = (options.now ?? Date.now)()
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i] as Held
      if (Number.isNaN(h.appendedAt)) h.appendedAt = next
      else next = h.appendedAt
    }
    return new IdbOutbox(db, options, state, held)
  }

  append(record: OutboxRecordInput): Promise<number> {
    if (this.#closed) return Promise.reject(new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed'))
    return new Promise((resolve, reject) => {
      try {
        const { encoding, payload } = payloadOf(record)
        const appendedAt = this.#now()
        const lsn = this.state.nextLsn
        const timestamp = record.timestamp ?? appendedAt
        const frame = encodeFrame({ ...record, seq: lsn, encoding, payload, timestamp, appendedAt })
        this.#expire()
        if (this.#bytes + frame.length > this.#options.capBytes) {
          // Drop-oldest frees what the record needs in one release (one event, one transaction).
          let freed = 0
          let through: number | undefined
          for (const h of this.#held) {
            if (this.#options.overflow === 'reject' || h.lsn > this.durableLsn) break
            freed += h.size
            through = h.lsn
            if (this.#bytes - freed + frame.length <= this.#options.capBytes) break
          }
          if (through === undefined || this.#bytes - freed + frame.length > this.#options.capBytes) {
            throw outboxFull(this.#bytes, this.#options.capBytes)
          }
          this.release(through, 'overflow')
        }
        this.state.nextLsn++
        const held = { lsn, size: frame.length, appendedAt }
        this.#held.push(held)
        this.#bytes += frame.length
        this.#pending.push({ ...held, frame, resolve, reject })
        this.#flushing ??= this.#flush()
      } catch (error) {
        reject(error)
      }
    })
  }

  async #flush(): Promise<void> {
    await Promise.resolve()
    try {
      while (this.#pending.length) {
        const group = this.#pending.splice(0)
        try {
          const tx = this.#db.transaction(['records', 'meta'], 'readwrite', { durability: 'strict' })
          for (const p of group) void tx.objectStore('records').put(p.frame, p.lsn)
          void tx.objectStore('meta').put({ ...this.state, nextLsn: (group.at(-1) as Pending).lsn + 1 }, 'state')
          await tx.done
          this.durableLsn = (group.at(-1) as Pending).lsn
          for (const p of group) p.resolve(toSeq(this.state, p.lsn))
          this.emit('appended', { seq: this.durableSeq })
        } catch (error) {
          // Its lsns are taken and the next write would make them look durable:
          // close, as the file store does; reopening recovers what is stored.
          const failure = new OutboxError('E_OUTBOX_CLOSED', `write failed: ${(error as Error).message}`)
          for (const p of [...group, ...this.#pending.splice(0)]) p.reject(failure)
          this.#closed = true
        }
      }
    } finally {
      this.#flushing = undefined
    }
  }

  protected override forget(_fromLsn: number, toLsn: number): number {
    let n = 0
    while (n < this.#held.length && (this.#held[n] as Held).lsn <= toLsn) n++
    for (const h of this.#held.splice(0, n)) this.#bytes -= h.size
    return n
  }

  protected override persistRelease(lsn: number): void {
    void this.#writeRelease(lsn).catch(() => {})
  }

  protected override persistNumbering(): Promise<void> {
    return this.#writeRelease(this.state.releasedLsn)
  }

  async #writeRelease(lsn: number): Promise<void> {
    const tx = this.#db.transaction(['records', 'meta'], 'readwrite')
    void tx.objectStore('records').delete(IDBKeyRange.upperBound(lsn))
    void tx.objectStore('meta').put({ ...this.state, nextLsn: this.durableLsn + 1 }, 'state')
    await tx.done
  }

  #expire(): void {
    if (!this.#options.ttlMs) return
    const cutoff = this.#now() - this.#options.ttlMs
    let last: number | undefined
    for (const h of this.#held) {
      if (h.appendedAt >= cutoff || h.lsn > this.durableLsn) break
      last = h.lsn
    }
    if (last !== undefined) this.release(last, 'ttl')
  }

  async peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]> {
    this.#expire()
    const fromLsn = Math.max(toLsn(this.state, fromSeq), this.state.releasedLsn + 1)
    if (fromLsn > this.durableLsn) return []
    const range = IDBKeyRange.bound(fromLsn, this.durableLsn)
    const out: OutboxEntry[] = []
    let bytes = 0
    let cursor = await this.#db.transaction('records').store.openCursor(range)
    while (cursor && out.length < maxRecords) {
      const frame = cursor.value as Uint8Array
      if (out.length > 0 && bytes + frame.length > maxBytes) break
      const lsn = Number(cursor.key)
      const read = readFrame(frame, 0)
      out.push(this.entryAt(lsn, read, frame.length, this.#now()))
      bytes += frame.length
      cursor = await cursor.continue()
    }
    return out
  }

  stats(): OutboxStats {
    this.#expire()
    const head = this.#held[0]
    return {
      // Held lsns are contiguous from releasedLsn + 1.
      depth: Math.max(0, this.durableLsn - this.state.releasedLsn),
      bytes: this.#bytes,
      capBytes: this.#options.capBytes,
      oldestAgeMs: head ? Math.max(0, this.#now() - head.appendedAt) : 0,
      ...this.seqStats(),
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    while (this.#flushing) await this.#flushing
    this.#closed = true
    await this.#writeRelease(this.state.releasedLsn).catch(() => {})
    this.#db.close()
  }
}
