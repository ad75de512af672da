import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { DeviceIdentity } from '../auth/tokens.ts'
import { asBridgeError, BridgeError } from '../errors.ts'
import type { IngestContext } from '../ingest/context.ts'
import { virtualDeviceId } from '../kafka/device-state.ts'
import type { DeviceWriter, EncodedRecord } from '../kafka/device-writer.ts'
import type { StoredReport } from '../kafka/state-view.ts'
import type { RestRecord } from './confluent-records.ts'
import { type IdempotencyLocks, idempotencyReceipt } from './idempotency.ts'

export interface Delivery {
  partition: number
  offset: number
  /** ms since the epoch */
  timestamp: number
  /** Answered from an earlier request with the same Idempotency-Key; nothing was written. */
  replayed: boolean
}

export type Outcome = { ok: true; delivery: Delivery } | { ok: false; error: BridgeError }

/** REST records of a device share one seq space and transactional id, apart from its WebSocket outbox's. */
export const REST_SPACE = 'rest'

/**
 * Writes the records of one REST request through the device's REST writer
 * (virtual device `<deviceId>~rest`): records are keyed by the device id and
 * committed with acks=all in a Kafka transaction. Under an Idempotency-Key
 * the transaction also commits the delivery reports, and records a previous
 * request with that key wrote are answered from them instead of written again.
 */
export class RestRequestWriter {
  readonly #ctx: IngestContext
  readonly #identity: DeviceIdentity
  readonly #topic: string
  readonly #keyHash: string | undefined
  readonly #locks: IdempotencyLocks
  #writer: DeviceWriter | undefined
  #unlock: (() => void) | undefined
  #stored: Map<number, StoredReport> = new Map()
  readonly #pending = new Set<Promise<unknown>>()

  constructor(
    ctx: IngestContext,
    identity: DeviceIdentity,
    topic: string,
    keyHash: string | undefined,
    locks: IdempotencyLocks,
  ) {
    this.#ctx = ctx
    this.#identity = identity
    this.#topic = topic
    this.#keyHash = keyHash
    this.#locks = locks
  }

  /** Claims the device's REST writer; under an Idempotency-Key, learns what earlier requests with it wrote. */
  async open(): Promise<void> {
    const writerId = virtualDeviceId(this.#identity.deviceId, REST_SPACE)
    this.#writer = this.#ctx.writers.acquire(writerId)
    if (this.#keyHash) this.#unlock = await this.#locks.lock(`${writerId}#${this.#keyHash}`)
    // After the claim, the view has read every commit of this writer id (the
    // idempotency records are on its state partition): the lookup is exact.
    await this.#writer.ready()
    if (!this.#keyHash) return
    const entry = this.#ctx.view.idempotency(writerId, this.#keyHash)
    if (entry && entry.topic !== this.#topic) {
      throw new BridgeError(
        ErrorCodes.IDEMPOTENCY_KEY_REUSED,
        `this Idempotency-Key was used for topic "${entry.topic}"; use a new key for a different request`,
      )
    }
    if (entry) this.#stored = entry.reports
  }

  /**
   * Writes request records numbered `first`, `first + 1`... (their position in
   * the request). Each outcome resolves once its record is committed (or was
   * found committed under the Idempotency-Key); outcomes never reject.
   */
  submit(first: number, records: RestRecord[]): Promise<Outcome>[] {
    const outcomes: Promise<Outcome>[] = []
    let i = 0
    while (i < records.length) {
      const stored = this.#stored.get(first + i)
      if (stored) {
        this.#ctx.metrics.recordsDuplicate.inc({ transport: 'rest' })
        const [partition, offset, timestamp] = stored
        outcomes.push(Promise.resolve({ ok: true, delivery: { partition, offset, timestamp, replayed: true } }))
        i++
        continue
      }
      let end = i
      while (end < records.length && !this.#stored.has(first + end)) end++
      outcomes.push(...this.#write(first + i, records.slice(i, end)))
      i = end
    }
    return outcomes
  }

  #write(first: number, run: RestRecord[]): Promise<Outcome>[] {
    const writer = this.#writer
    if (!writer) throw new Error('RestRequestWriter.submit before open')
    let committed: Promise<Map<number, { partition: number; offset: number }>>
    const seq0 = writer.nextSeq
    try {
      // nextSeq, accept and write run without an await: concurrent requests
      // of this device on this bridge cannot take the same seqs.
      const encoded: EncodedRecord[] = run.map((r, k) => ({
        seq: seq0 + k,
        topic: this.#topic,
        value: r.value,
        headers: r.headers,
        timestamp: BigInt(r.timestamp),
      }))
      const { fresh } = writer.accept(encoded)
      const idempotency = this.#keyHash
        ? idempotencyReceipt({
            deviceId: writer.deviceId,
            keyHash: this.#keyHash,
            topic: this.#topic,
            first,
            timestamps: run.map((r) => r.timestamp),
          })
        : undefined
      committed = writer.write(fresh, idempotency?.receipt).then((result) => {
        const written = idempotency?.value()
        if (written) this.#ctx.view.rememberIdempotency(written)
        this.#ctx.metrics.recordsAcked.inc({ transport: 'rest' }, run.length)
        const bySeq = new Map<number, { partition: number; offset: number }>()
        for (const range of result.ranges) {
          for (let seq = range.from; seq <= range.to; seq++) {
            bySeq.set(seq, { partition: range.partition ?? -1, offset: (range.offset ?? -1) + (seq - range.from) })
          }
        }
        return bySeq
      })
    } catch (error) {
      committed = Promise.reject(error)
    }
    const settled = committed.catch(() => {})
    this.#pending.add(settled)
    void settled.then(() => this.#pending.delete(settled))
    return run.map((record, k) =>
      committed.then(
        (bySeq): Outcome => {
          const at = bySeq.get(seq0 + k)
          if (!at) return { ok: false, error: new BridgeError(ErrorCodes.INTERNAL, 'Kafka reported no offset') }
          return { ok: true, delivery: { ...at, timestamp: record.timestamp, replayed: false } }
        },
        (error: unknown): Outcome => ({ ok: false, error: asBridgeError(error) }),
      ),
    )
  }

  /** Waits for this request's writes, then lets the writer go idle. */
  async close(): Promise<void> {
    await Promise.all(this.#pending)
    this.#unlock?.()
    this.#unlock = undefined
    if (this.#writer) this.#ctx.writers.release(this.#writer)
    this.#writer = undefined
  }
}
