import { randomUUID } from 'node:crypto'
import { compatibilityPartitioner, ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka'
import { type AckRange, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { hasKafkaError } from './kafka-errors.ts'
import { claimKey, encodeState, partitionOf, recordKeyOf } from './device-state.ts'
import type { DeviceStateView } from './state-view.ts'

/** A device record ready for Kafka: the bridge already forced its key and checked its topic. */
export interface EncodedRecord {
  seq: number
  topic: string
  value: Buffer
  headers: Map<Buffer, Buffer>
  timestamp: bigint
}

export interface WriteResult {
  ranges: AckRange[]
  /** Committed watermark after this write. */
  watermark: number
}

/**
 * A state record to commit in the same transaction as a write's records,
 * built from their acks (e.g. the delivery reports of a REST request with an
 * Idempotency-Key). Written to the device's device-state partition.
 */
export type Receipt = (ranges: AckRange[]) => { key: string; value: Buffer }

interface PendingWrite {
  records: EncodedRecord[]
  receipt: Receipt | undefined
  resolve(result: WriteResult): void
  reject(error: BridgeError): void
}

export interface DeviceWriterOptions {
  brokers: string[]
  clientId: string
  transactionalIdPrefix: string
  stateTopic: string
  statePartitions: number
  maxTxnRecords: number
  transactionTimeoutMs: number
  bridgeId: string
  view: DeviceStateView
  /** Called once per committed transaction: for metrics. */
  onCommit?: (records: number, durationMs: number) => void
  onAbort?: () => void
  /** Chaos tests only: see BridgeConfig.testFaults. */
  faults?: { crashOnTransaction: number; crashAt: 'before-commit' | 'after-commit' }
}

let transactionsInProcess = 0

/**
 * Writes one device's records to Kafka exactly once.
 *
 * The transactional id is per device, so whichever bridge last initialised it
 * holds the device: Kafka fences every earlier holder and aborts its open
 * transaction. The new holder then writes a claim to the device-state topic
 * and waits to read it back, which proves it has seen every earlier commit:
 * the watermark it starts from is exact. Each transaction carries the records
 * and the new watermark together, so they are visible together or not at all.
 */
export class DeviceWriter {
  readonly deviceId: string
  readonly #options: DeviceWriterOptions
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #statePartition: number
  // A virtual device (`dev~rest`) writes its records under the real device's key.
  readonly #recordKey: Buffer
  readonly #stateKey: Buffer
  #ready: Promise<void> | undefined
  #committed = 0
  #nextSeq = 1
  #queue: PendingWrite[] = []
  #draining = false
  #idleWaiters: (() => void)[] = []
  #failure: BridgeError | undefined

  constructor(deviceId: string, options: DeviceWriterOptions) {
    this.deviceId = deviceId
    this.#options = options
    this.#statePartition = partitionOf(deviceId, options.statePartitions)
    this.#recordKey = Buffer.from(recordKeyOf(deviceId), 'utf8')
    this.#stateKey = Buffer.from(deviceId, 'utf8')
    this.#producer = new Producer({
      clientId: `${options.clientId}-device`,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `${options.transactionalIdPrefix}-${deviceId}`,
      // InitProducerId must say "no previous producer" (-1/-1): the client's
      // default of 0/0 makes the coordinator answer PRODUCER_FENCED whenever
      // the transactional id was used before, i.e. after every bridge restart.
      producerId: -1n,
      producerEpoch: -1,
      // The coordinator aborts a transaction left open longer than this (a crashed bridge).
      timeout: options.transactionTimeoutMs,
      retries: 10,
      retryDelay: transactionRetryDelay,
    })
  }

  /** Committed watermark: the highest sequence number Kafka holds for this device. */
  get committed(): number {
    return this.#committed
  }

  /** The writer can no longer be used (fenced or Kafka failed); a new one must claim the device. */
  get failure(): BridgeError | undefined {
    return this.#failure
  }

  /** The seq this device must send next. */
  get nextSeq(): number {
    return this.#nextSeq
  }

  /** Fences earlier holders and learns the exact watermark; once per writer. */
  ready(): Promise<void> {
    this.#ready ??= this.#claim()
    return this.#ready
  }

  async #claim(): Promise<void> {
    const claim = randomUUID()
    const seen = this.#options.view.expectClaim(claim, 30_000)
    try {
      const tx = await this.#producer.beginTransaction()
      await tx.send({
        messages: [
          {
            topic: this.#options.stateTopic,
            partition: this.#statePartition,
            key: Buffer.from(claimKey(this.deviceId)),
            value: encodeState({
              v: 1,
              deviceId: this.deviceId,
              claim,
              bridge: this.#options.bridgeId,
              at: Date.now(),
            }),
          },
        ],
      })
      await tx.commit()
      await seen
    } catch (error) {
      seen.catch(() => {})
      throw this.#fail(error)
    }
    this.#committed = this.#options.view.watermark(this.deviceId)
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
    return new Promise((resolve, reject) => {
      this.#queue.push({ records, receipt, resolve, reject })
      if (!this.#draining) void this.#drain()
    })
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.#draining && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  async #drain(): Promise<void> {
    this.#draining = true
    while (this.#queue.length > 0 && !this.#failure) {
      // Group commit: every write queued meanwhile joins one transaction.
      const batch: PendingWrite[] = []
      let count = 0
      while (this.#queue.length > 0) {
        const next = this.#queue[0] as PendingWrite
        if (batch.length > 0 && count + next.records.length > this.#options.maxTxnRecords) break
        batch.push(next)
        count += next.records.length
        this.#queue.shift()
      }
      try {
        const ranges = await this.#commit(batch)
        for (const write of batch) {
          const from = (write.records[0] as EncodedRecord).seq
          const to = (write.records[write.records.length - 1] as EncodedRecord).seq
          write.resolve({ ranges: sliceRanges(ranges, from, to), watermark: this.#committed })
        }
      } catch (error) {
        const failure = this.#fail(error)
        for (const write of batch) write.reject(failure)
        for (const write of this.#queue.splice(0)) write.reject(failure)
      }
    }
    this.#draining = false
    for (const resolve of this.#idleWaiters.splice(0)) resolve()
  }

  async #commit(batch: PendingWrite[]): Promise<AckRange[]> {
    const records = batch.flatMap((w) => w.records)
    const started = performance.now()
    const key = this.#recordKey
    const stateKey = this.#stateKey
    const last = records[records.length - 1] as EncodedRecord
    const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = records.map((r) => ({
      topic: r.topic,
      key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
    }))
    messages.push({
      topic: this.#options.stateTopic,
      partition: this.#statePartition,
      key: stateKey,
      value: encodeState({ v: 1, deviceId: this.deviceId, watermark: last.seq, at: Date.now() }),
    })
    const tx = await this.#producer.beginTransaction()
    let ranges: AckRange[]
    try {
      // Java's partitioner (positive murmur2; the client applies the modulo once
      // it has metadata), so every Kafka client agrees where a device's records live.
      const result = await tx.send({ messages, partitioner: compatibilityPartitioner })
      ranges = ackRanges(records, key, result.offsets ?? [])
      const receipts = this.#receipts(batch, ranges)
      if (receipts.length > 0) await tx.send({ messages: receipts })
      const crash = this.#options.faults
      const nth = ++transactionsInProcess
      if (crash?.crashAt === 'before-commit' && nth === crash.crashOnTransaction) process.kill(process.pid, 'SIGKILL')
      await tx.commit()
      if (crash?.crashAt === 'after-commit' && nth === crash.crashOnTransaction) process.kill(process.pid, 'SIGKILL')
    } catch (error) {
      this.#options.onAbort?.()
      await tx.abort().catch(() => {})
      throw error
    }
    this.#committed = last.seq
    this.#options.onCommit?.(records.length, performance.now() - started)
    return ranges
  }

  #receipts(batch: PendingWrite[], ranges: AckRange[]): MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] {
    const out: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = []
    for (const write of batch) {
      if (!write.receipt) continue
      const from = (write.records[0] as EncodedRecord).seq
      const to = (write.records[write.records.length - 1] as EncodedRecord).seq
      const { key, value } = write.receipt(sliceRanges(ranges, from, to))
      out.push({ topic: this.#options.stateTopic, partition: this.#statePartition, key: Buffer.from(key), value })
    }
    return out
  }

  #fail(error: unknown): BridgeError {
    if (this.#failure) return this.#failure
    const message = error instanceof Error ? error.message : String(error)
    // Another bridge's claim bumped the epoch of this device's transactional id.
    const fenced = hasKafkaError(error, 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTION_COORDINATOR_FENCED')
    this.#failure = fenced
      ? new BridgeError(ErrorCodes.SESSION_REPLACED, 'another bridge took this device over; reconnect to continue', {
          retryable: true,
        })
      : new BridgeError(
          ErrorCodes.KAFKA_UNAVAILABLE,
          `Kafka did not commit the records (${message}); reconnect and resend`,
          {
            retryable: true,
            retryAfterMs: 1000,
          },
        )
    return this.#failure
  }

  async close(): Promise<void> {
    await this.idle()
    await this.#producer.close().catch(() => {})
  }
}

/**
 * CONCURRENT_TRANSACTIONS (the previous commit's markers are still being
 * written) clears within milliseconds, and every back-to-back transaction of
 * a busy device meets it: retry it after 10 ms (Java's client uses 20 ms), not
 * the 100 ms that would stall each one. Anything else backs off exponentially.
 */
function transactionRetryDelay(
  _client: unknown,
  _operation: string,
  attempt: number,
  _retries: number,
  error: Error,
): number {
  return hasKafkaError(error, 'CONCURRENT_TRANSACTIONS') ? 10 : Math.min(100 * 2 ** (attempt - 1), 1000)
}

/**
 * One produce request writes each partition's records as one batch, so the
 * n-th record of a partition in the request sits at base offset + n.
 */
function ackRanges(
  records: EncodedRecord[],
  key: Buffer,
  offsets: { topic: string; partition: number; offset: bigint }[],
): AckRange[] {
  const base = new Map<string, { partition: number; offset: bigint }>()
  for (const o of offsets) base.set(o.topic, { partition: o.partition, offset: o.offset })
  const used = new Map<string, number>()
  const ranges: AckRange[] = []
  let current: AckRange | undefined
  for (const record of records) {
    const b = base.get(record.topic)
    if (!b) throw new Error(`no offset reported for topic ${record.topic} (key ${key.toString()})`)
    const index = used.get(record.topic) ?? 0
    used.set(record.topic, index + 1)
    const offset = Number(b.offset) + index
    if (
      current &&
      current.topic === record.topic &&
      current.to === record.seq - 1 &&
      (current.offset as number) + (record.seq - (current.from as number)) === offset
    ) {
      current.to = record.seq
    } else {
      current = { from: record.seq, to: record.seq, topic: record.topic, partition: b.partition, offset }
      ranges.push(current)
    }
  }
  return ranges
}

/** The part of the ranges covering seqs from..to. */
function sliceRanges(ranges: AckRange[], from: number, to: number): AckRange[] {
  const out: AckRange[] = []
  for (const r of ranges) {
    if (r.to < from || r.from > to) continue
    const start = Math.max(r.from, from)
    const end = Math.min(r.to, to)
    out.push({ ...r, from: start, to: end, offset: (r.offset as number) + (start - r.from) })
  }
  return out
}
