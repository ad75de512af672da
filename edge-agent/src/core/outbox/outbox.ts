// The outbox: a bounded, durable queue of records waiting for the bridge's ack.
// One interface, one store per runtime (node/outbox, browser/outbox, memory.ts).
import type { Emitter } from './emitter.ts'
import type { OutboxEntry, OutboxRecordInput } from './record.ts'

export type OverflowPolicy = 'reject' | 'drop-oldest'

export interface OutboxOptions {
  /** Most bytes the outbox may hold (default 256 MiB). */
  capBytes?: number
  /** What append does when the cap is reached (default "reject": E_OUTBOX_FULL). */
  overflow?: OverflowPolicy
  /** Records older than this are dropped unsent (default: none, keep until acked). */
  ttlMs?: number
}

export const outboxDefaults = {
  capBytes: 256 * 1024 * 1024,
  overflow: 'reject' as OverflowPolicy,
  ttlMs: 0,
}

export interface OutboxStats {
  /** Records held and not yet acked. */
  depth: number
  /** Bytes the outbox takes (on disk for the Node store; whole segments). */
  bytes: number
  capBytes: number
  /** Age of the oldest unacked record in ms; 0 when empty. */
  oldestAgeMs: number
  /** The seq the next append gets. */
  nextSeq: number
  /** Highest seq the bridge acked (Kafka holds it). */
  ackedSeq: number
  /** Records removed unsent, by overflow (drop-oldest) and by TTL, since the outbox was created. */
  dropped: { overflow: number; ttl: number }
  /** Records whose bytes failed their CRC when read; each went out as a marker (docs/outbox.md). */
  corrupted: number
}

export interface OutboxEvents {
  /** Records were removed unsent. */
  dropped: { count: number; reason: 'overflow' | 'ttl'; fromSeq: number; toSeq: number }
  /** A record read back failed its CRC. */
  corrupt: { seq: number; reason: string }
  /** New durable records are available to peek. */
  appended: { seq: number }
  /** Records were renumbered to close a gap left by drops (or a reset outbox). */
  renumbered: { shift: number; firstSeq: number }
}

export interface Outbox extends Pick<Emitter<OutboxEvents>, 'on' | 'off'> {
  /**
   * Appends a record; resolves with its seq once it is durable (a crash after
   * this cannot lose it). Throws E_OUTBOX_FULL under the "reject" policy.
   */
  append(record: OutboxRecordInput): Promise<number>
  /** Durable records from `fromSeq` on, at most maxRecords and about maxBytes (at least one record). */
  peek(fromSeq: number, maxRecords: number, maxBytes: number): Promise<OutboxEntry[]>
  /** The bridge acked everything through `seq`: those records leave the outbox. */
  ack(throughSeq: number): Promise<void>
  /**
   * Aligns with the bridge's watermark at the start of a session: acks
   * through it, then renumbers what is held when drops left a gap (or when the
   * bridge knows more seqs than this outbox ever gave: a reset outbox), so the
   * first held record gets watermark + 1. Returns the first seq to send.
   */
  resume(watermark: number): Promise<number>
  /** resume() may renumber, so the session needs the exact watermark (hello.exact). */
  readonly needsExactWatermark: boolean
  /** The first held unacked seq (equals nextSeq when empty). */
  readonly firstSeq: number
  /** Seq of the next append; every seq below it that is durable can be peeked. */
  readonly nextSeq: number
  /** Highest durable seq (appends resolved); peek never returns more. */
  readonly durableSeq: number
  stats(): OutboxStats
  close(): Promise<void>
}
