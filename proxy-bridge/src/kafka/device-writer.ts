import { randomUUID } from 'node:crypto'
import { murmur2 } from '@platformatic/kafka'
import { type AckRange, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { claimKey, encodeState, recordKeyOf } from './device-state.ts'
import type { DeviceStateView } from './state-view.ts'
import {
  type EncodedRecord,
  kafkaUnavailable,
  type LaneMember,
  type Receipt,
  type TransactionLane,
} from './transaction-lane.ts'

export type { EncodedRecord, Receipt } from './transaction-lane.ts'

export interface WriteResult {
  ranges: AckRange[]
  /** Committed watermark after this write. */
  watermark: number
}

/** What the writers of one lane share. */
export interface DeviceWriterContext {
  lane: TransactionLane
  view: DeviceStateView
  bridgeId: string
  /** Fences these transactional ids (InitProducerId), aborting what they left open, except this bridge's own; true when it fenced any. */
  fence(transactionalIds: readonly string[]): Promise<boolean>
  /** Fences the other bridges' lanes whose transaction has been stuck open on this state partition. */
  fenceStuck(statePartition: number): Promise<boolean>
}

// A claim not read back this soon may be stuck behind a crashed owner's open
// transaction (readers stop there): fence the device's owners known so far.
const claimFenceAfterMs = 1000
// Still stuck: the open transaction may be a crashed bridge's that never held
// this device but wrote to its state partition. Fence the other lanes with a
// transaction stuck open on it, whether the view saw them claim there lately
// or Kafka lists them as ongoing (stuck-transactions.ts); live lanes, whose
// transactions come and go, are spared unless Kafka cannot say.
const partitionFenceAfterMs = 3000
const claimTimeoutMs = 30_000

/**
 * Writes one device's records to Kafka exactly once, through its lane (a
 * transactional producer this bridge shares between devices).
 *
 * Taking a device over: the writer commits a claim record naming its lane's
 * transactional id, reads it back (so everything committed for the device
 * before it has been read), then fences every earlier owner the claim
 * follows, aborting whatever they still had open, and reads the state topic
 * to its end once more: what an earlier owner committed before the fence is
 * then counted, and it can commit nothing after. The watermark the writer
 * starts from is exact. Each transaction carries the device's records and its
 * new watermark together, so they are visible together or not at all.
 */
export class DeviceWriter implements LaneMember {
  readonly deviceId: string
  // A virtual device (`dev~rest`) writes its records under the real device's key.
  readonly recordKey: Buffer
  readonly recordHash: number
  readonly statePartition: number
  readonly stateKey: Buffer
  readonly #ctx: DeviceWriterContext
  #claimId: string | undefined
  #ready: Promise<void> | undefined
  #committed = 0
  #nextSeq = 1
  #inflight = 0
  #idleWaiters: (() => void)[] = []
  #failure: BridgeError | undefined

  constructor(deviceId: string, statePartition: number, ctx: DeviceWriterContext) {
    this.deviceId = deviceId
    this.#ctx = ctx
    this.statePartition = statePartition
    this.stateKey = Buffer.from(deviceId, 'utf8')
    this.recordKey = Buffer.from(recordKeyOf(deviceId), 'utf8')
    this.recordHash = murmur2(this.recordKey) & 0x7fffffff
  }

  get claimId(): string | undefined {
    return this.#claimId
  }

  /** Committed watermark: the highest sequence number Kafka holds for this device. */
  get committed(): number {
    return this.#committed
  }

  /** The writer can no longer be used (taken over or Kafka failed); a new one must claim the device. */
  get failure(): BridgeError | undefined {
    return this.#failure
  }

  /** The seq this device must send next: after a failure, the first one not committed. */
  get nextSeq(): number {
    return this.#failure ? this.#committed + 1 : this.#nextSeq
  }

  /** Where the device resumes, for an error frame; unknown until the claim has read the watermark. */
  get resumePoint(): { watermark: number; nextSeq: number } | undefined {
    return this.#claimId === undefined ? undefined : { watermark: this.#committed, nextSeq: this.nextSeq }
  }

  fail(error: BridgeError): BridgeError {
    this.#failure ??= error
    return this.#failure
  }

  /** Takes the device over and learns the exact watermark; once per writer. */
  ready(): Promise<void> {
    this.#ready ??= this.#claim()
    return this.#ready
  }

  async #claim(): Promise<void> {
    const { view, lane } = this.#ctx
    const claim = randomUUID()
    const seen = view.expectClaim(claim, claimTimeoutMs)
    const unstick = setTimeout(() => {
      void this.#ctx.fence(view.owners(this.deviceId)).catch(() => {})
    }, claimFenceAfterMs)
    const unstickPartition = setTimeout(() => {
      void this.#ctx.fenceStuck(this.statePartition).catch(() => {})
    }, partitionFenceAfterMs)
    try {
      const value = encodeState({
        v: 1,
        deviceId: this.deviceId,
        claim,
        bridge: this.#ctx.bridgeId,
        owner: lane.transactionalId,
        owners: [...view.owners(this.deviceId)],
        at: Date.now(),
      })
      await lane.submit(this, [], { state: [{ key: Buffer.from(claimKey(this.deviceId)), value }] })
      // What an earlier owner committed before its fence is read before the watermark is taken.
      if (await this.#ctx.fence(await seen)) await view.caughtUp(claimTimeoutMs)
    } catch (error) {
      seen.catch(() => {})
      throw this.fail(error instanceof BridgeError ? error : kafkaUnavailable(error))
    } finally {
      clearTimeout(unstick)
      clearTimeout(unstickPartition)
    }
    this.#claimId = claim
    this.#committed = view.watermark(this.deviceId)
    this.#nextSeq = this.#committed + 1
  }

  /**
   * Splits a batch into what Kafka already has (duplicates, acked at once)
   * and what is new, and checks that the new part continues the sequence.
   * Throws E_SEQ_BACKWARDS / E_SEQ_GAP without accepting anything.
   */
  accept(records: EncodedRecord[]): { duplicates: AckRange | undefined; fresh: EncodedRecord[] } {
    if (this.#failure) throw this.#failure
    let i = 0
    while (i < records.length && (records[i] as EncodedRecord).seq <= this.#committed) i++
    const fresh = i === 0 ? records : records.slice(i)
    const first = fresh[0]
    if (first) {
      if (first.seq < this.#nextSeq) {
        throw new BridgeError(
          ErrorCodes.SEQ_BACKWARDS,
          `seq ${first.seq} was already received and is not yet committed (next expected ${this.#nextSeq}); wait for its ack instead of resending`,
        )
      }
      if (first.seq > this.#nextSeq) {
        throw new BridgeError(
          ErrorCodes.SEQ_GAP,
          `seq ${first.seq} skips ahead: the next expected seq is ${this.#nextSeq}; resend from there`,
        )
      }
    }
    const duplicates =
      i > 0
        ? { from: (records[0] as EncodedRecord).seq, to: (records[i - 1] as EncodedRecord).seq, duplicate: true }
        : undefined
    return { duplicates, fresh }
  }

  /** Queues records accepted by `accept`; resolves after their transaction committed. */
  write(records: EncodedRecord[], receipt?: Receipt): Promise<WriteResult> {
    if (this.#failure) return Promise.reject(this.#failure)
    const last = records[records.length - 1]
    if (last) this.#nextSeq = last.seq + 1
    this.#inflight++
    return this.#ctx.lane
      .submit(this, records, receipt ? { receipt } : {})
      .then(
        (ranges) => {
          if (last && last.seq > this.#committed) this.#committed = last.seq
          return { ranges, watermark: this.#committed }
        },
        (error: unknown) => {
          throw this.fail(error instanceof BridgeError ? error : kafkaUnavailable(error))
        },
      )
      .finally(() => {
        if (--this.#inflight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve()
      })
  }

  /** Resolves when nothing of this device is queued or in flight. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  close(): Promise<void> {
    return this.idle()
  }
}
