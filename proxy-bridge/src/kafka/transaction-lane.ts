import { ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka'
import { type AckRange, type ErrorCode, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { hasKafkaError } from './kafka-errors.ts'
import { encodeState } from './device-state.ts'
import type { DeviceStateView } from './state-view.ts'

/** A device record ready for Kafka: the bridge already forced its key and checked its topic. */
export interface EncodedRecord {
  seq: number
  topic: string
  value: Buffer
  headers: Map<Buffer, Buffer>
  timestamp: bigint
}

/**
 * A state record to commit in the same transaction as a write's records,
 * built from their acks (e.g. the delivery reports of a REST request with an
 * Idempotency-Key). Written to the device's device-state partition.
 */
export type Receipt = (ranges: AckRange[]) => { key: string; value: Buffer }

/** What a lane needs to know of the device a write belongs to (a DeviceWriter). */
export interface LaneMember {
  readonly deviceId: string
  /** The key of the device's records: the real device id, also for a virtual device. */
  readonly recordKey: Buffer
  /** murmur2 of `recordKey`, positive: Java's partitioner, so every Kafka client agrees where the records live. */
  readonly recordHash: number
  readonly statePartition: number
  /** Key of its watermark record: its (possibly virtual) device id. */
  readonly stateKey: Buffer
  /** The claim this member writes under; undefined while it is still claiming. */
  readonly claimId: string | undefined
  readonly failure: BridgeError | undefined
  /** Marks the member failed; its queued writes are then rejected, never written. */
  fail(error: BridgeError): BridgeError
}

interface LaneWrite {
  member: LaneMember
  records: EncodedRecord[]
  /** State records that must commit with this write (a claim). */
  state: { key: Buffer; value: Buffer }[]
  receipt: Receipt | undefined
  bytes: number
  /** Retried alone after Kafka refused a record of a shared transaction: the bad record fails only its frame's device. */
  solo: boolean
  resolve(ranges: AckRange[]): void
  reject(error: BridgeError): void
}

export interface LaneOptions {
  brokers: string[]
  clientId: string
  stateTopic: string
  maxTxnRecords: number
  maxTxnBytes: number
  /** Least time between the starts of two transactions of a lane, unless a full one is queued (0: back to back). */
  txnIntervalMs: number
  transactionTimeoutMs: number
  view: DeviceStateView
  /** Called once per committed transaction: for metrics. */
  onCommit?: (records: number, durationMs: number) => void
  /** Called once per failed transaction (aborted, or given up), with why: for metrics and the log. */
  onAbort?: (error: unknown) => void
  /** Chaos tests only: see BridgeConfig.testFaults. */
  faults?: { crashOnTransaction: number; crashAt: 'before-commit' | 'after-commit' }
}

type KafkaMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

let transactionsInProcess = 0
// A lane fenced this often in a row gives up on its batch instead of spinning.
const maxFencedRetries = 5

/**
 * One transactional producer of this bridge, shared by many devices: every
 * write queued while a transaction is in flight joins the next one, whatever
 * device it comes from, with one watermark record per device. Few large
 * transactions instead of one per device and batch is what keeps the
 * broker's per-transaction cost (markers, coordinator writes) off the
 * latency of every device.
 *
 * A device's writes always go through the same lane, so they commit in
 * order. Another bridge that takes a device over fences this lane's
 * transactional id (see DeviceWriter): the open transaction aborts, the lane
 * starts a new producer, drops the devices claimed elsewhere (the view read
 * to its end proves it) and commits the rest again.
 */
export class TransactionLane {
  readonly transactionalId: string
  readonly #options: LaneOptions
  #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  #queue: LaneWrite[] = []
  #lastStart = Number.NEGATIVE_INFINITY
  /** Ends the wait between two transactions early: a full transaction is queued. */
  #wake: (() => void) | undefined
  #draining = false
  #idleWaiters: (() => void)[] = []
  #fencedInARow = 0

  constructor(transactionalId: string, options: LaneOptions) {
    this.transactionalId = transactionalId
    this.#options = options
    this.#producer = this.#newProducer()
  }

  #newProducer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    return transactionalProducer(this.transactionalId, this.#options)
  }

  /** Queues a member's records (and state records) for the next transaction; resolves with their acks once committed. */
  submit(
    member: LaneMember,
    records: EncodedRecord[],
    extra: { receipt?: Receipt; state?: { key: Buffer; value: Buffer }[] } = {},
  ): Promise<AckRange[]> {
    if (member.failure) return Promise.reject(member.failure)
    let bytes = 0
    for (const r of records) bytes += r.value.length
    return new Promise((resolve, reject) => {
      this.#queue.push({
        member,
        records,
        state: extra.state ?? [],
        receipt: extra.receipt,
        bytes,
        solo: false,
        resolve,
        reject,
      })
      if (this.#wake && this.#full()) this.#wake()
      if (!this.#draining) void this.#drain()
    })
  }

  /** Whether a full transaction is queued; asked only while the lane waits, and reads at most one transaction's writes. */
  #full(): boolean {
    const { maxTxnRecords, maxTxnBytes } = this.#options
    let records = 0
    let bytes = 0
    for (const write of this.#queue) {
      records += write.records.length
      bytes += write.bytes
      if (records >= maxTxnRecords || bytes >= maxTxnBytes) return true
    }
    return false
  }

  /**
   * Spaces the lane's transactions `txnIntervalMs` apart, unless a full one
   * is queued. The broker's cost is mostly per transaction (coordinator
   * writes, a marker per partition: ~3.7 ms of its CPU each in the ingest
   * benchmark), so back-to-back transactions of a few frames each cost it
   * far more than the records do; on a shared machine that CPU is what
   * stretches every transaction's latency. Under full load a transaction
   * takes longer than the interval and this never waits.
   */
  async #spaced(): Promise<void> {
    const wait = this.#lastStart + this.#options.txnIntervalMs - performance.now()
    if (wait <= 0 || this.#full()) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), wait)
      this.#wake = () => {
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
    })
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.#draining && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  async #drain(): Promise<void> {
    this.#draining = true
    while (this.#queue.length > 0) {
      await this.#spaced()
      const batch = this.#take()
      if (batch.length === 0) continue
      this.#lastStart = performance.now()
      try {
        const ranges = await this.#withinTimeout(this.#commit(batch))
        this.#fencedInARow = 0
        for (const [i, write] of batch.entries()) write.resolve(ranges[i] as AckRange[])
      } catch (error) {
        this.#options.onAbort?.(error)
        await this.#recover(batch, error)
      }
    }
    this.#draining = false
    for (const resolve of this.#idleWaiters.splice(0)) resolve()
  }

  /**
   * Gives a transaction up once it has taken transactionTimeoutMs: by then
   * the coordinator aborts it anyway. Without this bound the client's nested
   * retries (each step retried 16 times, each retry a coordinator lookup
   * retried 16 times) keep a transaction waiting ~3.5 minutes for a broker
   * that is down, with its devices told nothing. `#recover` then closes the
   * producer, which settles the abandoned transaction at once; a commit of it
   * that reached Kafka anyway is what the next claim reads back (see
   * DeviceWriter), so a resend after E_KAFKA_UNAVAILABLE is acked as a duplicate.
   */
  #withinTimeout<T>(transaction: Promise<T>): Promise<T> {
    const ms = this.#options.transactionTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not finish the transaction within ${ms} ms`)), ms)
    })
    transaction.catch(() => {})
    return Promise.race([transaction, expired]).finally(() => clearTimeout(timer))
  }

  /** The next transaction's writes: FIFO, up to the record and byte budget; a solo write goes alone. */
  #take(): LaneWrite[] {
    const batch: LaneWrite[] = []
    let records = 0
    let bytes = 0
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as LaneWrite
      const failure = next.member.failure ?? this.#replaced(next.member)
      if (failure) {
        this.#queue.shift()
        next.reject(failure)
        continue
      }
      const first = batch[0]
      if (first) {
        if (records + next.records.length > this.#options.maxTxnRecords) break
        if (bytes + next.bytes > this.#options.maxTxnBytes) break
        if (first.solo || next.solo) break
      }
      batch.push(next)
      records += next.records.length
      bytes += next.bytes
      this.#queue.shift()
    }
    return batch
  }

  /** A member whose device another bridge claimed since: its records must not be written here any more. */
  #replaced(member: LaneMember): BridgeError | undefined {
    const claim = member.claimId
    if (claim === undefined || this.#options.view.latestClaim(member.deviceId) === claim) return undefined
    return member.fail(sessionReplaced())
  }

  async #commit(batch: LaneWrite[]): Promise<AckRange[][]> {
    const started = performance.now()
    const { stateTopic } = this.#options
    const producer = this.#producer
    const topics = new Set<string>()
    for (const write of batch) for (const r of write.records) topics.add(r.topic)
    const counts = await partitionCounts(producer, topics)
    const messages: KafkaMessage[] = []
    // Per record, in batch order: its partition, and its place among this
    // request's messages to that partition (its offset is the partition's base + place).
    const partitions: number[] = []
    const places: number[] = []
    const perPartition = new Map<string, number[]>()
    const last = new Map<LaneMember, number>()
    let recordCount = 0
    for (const write of batch) {
      const { member } = write
      for (const r of write.records) {
        const count = counts.get(r.topic) as number
        const partition = member.recordHash % count
        let placed = perPartition.get(r.topic)
        if (placed === undefined) {
          placed = new Array<number>(count).fill(0)
          perPartition.set(r.topic, placed)
        }
        partitions.push(partition)
        places.push((placed[partition] as number)++)
        messages.push({
          topic: r.topic,
          partition,
          key: member.recordKey,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp,
        })
      }
      recordCount += write.records.length
      const end = write.records[write.records.length - 1]
      if (end) last.set(member, end.seq)
      for (const s of write.state) {
        messages.push({ topic: stateTopic, partition: member.statePartition, key: s.key, value: s.value })
      }
    }
    for (const [member, watermark] of last) {
      messages.push({
        topic: stateTopic,
        partition: member.statePartition,
        key: member.stateKey,
        value: encodeState({ v: 1, deviceId: member.deviceId, watermark, claim: member.claimId, at: Date.now() }),
      })
    }
    const tx = await producer.beginTransaction()
    try {
      const result = await tx.send({ messages })
      const ranges = ackRanges(batch, partitions, places, result.offsets ?? [])
      const receipts: KafkaMessage[] = []
      batch.forEach((write, i) => {
        if (!write.receipt) return
        const { key, value } = write.receipt(ranges[i] as AckRange[])
        receipts.push({ topic: stateTopic, partition: write.member.statePartition, key: Buffer.from(key), value })
      })
      if (receipts.length > 0) await tx.send({ messages: receipts })
      const crash = this.#options.faults
      // Counts transactions with records, as the config says: a claim alone is not one.
      const nth = recordCount > 0 ? ++transactionsInProcess : 0
      if (crash?.crashAt === 'before-commit' && nth === crash.crashOnTransaction) process.kill(process.pid, 'SIGKILL')
      await tx.commit()
      if (crash?.crashAt === 'after-commit' && nth === crash.crashOnTransaction) process.kill(process.pid, 'SIGKILL')
      this.#options.onCommit?.(recordCount, performance.now() - started)
      return ranges
    } catch (error) {
      await tx.abort().catch(() => {})
      throw error
    }
  }

  /**
   * After a failed transaction: a fenced lane starts over with a new producer
   * and retries the devices it still owns. When Kafka refused a record, each
   * write (one frame's records) is retried alone once, so the writes before
   * the bad one still commit, and the bad one fails its device with
   * E_RECORD_TOO_LARGE or E_VALUE_INVALID (resending it cannot help). Any
   * other failure fails the devices with E_KAFKA_UNAVAILABLE (their sessions
   * reconnect and resend) rather than replaying one small transaction per
   * frame into a broker that is already struggling.
   */
  async #recover(batch: LaneWrite[], error: unknown): Promise<void> {
    const fenced = isFenced(error)
    // A new producer: its InitProducerId also aborts whatever the old one left open.
    const old = this.#producer
    this.#producer = this.#newProducer()
    await new Promise<void>((resolve) => old.close(true, () => resolve()))
    if (fenced && ++this.#fencedInARow <= maxFencedRetries) {
      // Whoever fenced us committed its claim first: once the view has read
      // to the end, `#take` drops the devices it took.
      await this.#options.view.caughtUp(this.#options.transactionTimeoutMs).catch(() => {})
      this.#queue.unshift(...batch)
      return
    }
    const refused = fenced ? undefined : recordRefused(error)
    if (refused && batch.length > 1) {
      for (const write of batch) write.solo = true
      this.#queue.unshift(...batch)
      return
    }
    const members = new Set(batch.map((w) => w.member))
    const failure = fenced ? sessionReplaced() : (refused ?? kafkaUnavailable(error))
    for (const member of members) member.fail(failure)
    for (const write of batch) write.reject(write.member.failure ?? failure)
  }

  async close(): Promise<void> {
    await this.idle()
    await this.#producer.close().catch(() => {})
  }
}

/** With transactionRetryDelay: ~1.2 s of CONCURRENT_TRANSACTIONS, ~13 s of anything else. */
export const transactionRetries = 15

/** A transactional producer that takes `transactionalId` over: InitProducerId fences every earlier holder. */
export function transactionalProducer(
  transactionalId: string,
  options: Pick<LaneOptions, 'brokers' | 'clientId' | 'transactionTimeoutMs'>,
): Producer<Buffer, Buffer, Buffer, Buffer> {
  return new Producer({
    clientId: `${options.clientId}-txn`,
    bootstrapBrokers: options.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    transactionalId,
    // InitProducerId must say "no previous producer" (-1/-1): the client's
    // default of 0/0 makes the coordinator answer PRODUCER_FENCED whenever
    // the transactional id was used before.
    producerId: -1n,
    producerEpoch: -1,
    // The coordinator aborts a transaction left open longer than this (a crashed bridge).
    timeout: options.transactionTimeoutMs,
    retries: transactionRetries,
    retryDelay: transactionRetryDelay,
  })
}

function isFenced(error: unknown): boolean {
  return hasKafkaError(error, 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTION_COORDINATOR_FENCED')
}

export function sessionReplaced(): BridgeError {
  return new BridgeError(ErrorCodes.SESSION_REPLACED, 'another bridge took this device over; reconnect to continue', {
    retryable: true,
  })
}

/** Kafka's answers that refuse a record itself: the same record would be refused again. */
const refusals: [kafkaError: string, code: ErrorCode, why: string][] = [
  ['MESSAGE_TOO_LARGE', ErrorCodes.RECORD_TOO_LARGE, "it is larger than the topic's max.message.bytes"],
  ['RECORD_LIST_TOO_LARGE', ErrorCodes.RECORD_TOO_LARGE, "it is larger than the topic's max.message.bytes"],
  ['INVALID_TIMESTAMP', ErrorCodes.VALUE_INVALID, "its timestamp is outside the topic's accepted range"],
  ['INVALID_RECORD', ErrorCodes.VALUE_INVALID, 'the topic does not accept it'],
  ['CORRUPT_MESSAGE', ErrorCodes.VALUE_INVALID, 'the topic does not accept it'],
]

/** A non-retryable error when Kafka refused a record of the write, else undefined. */
function recordRefused(error: unknown): BridgeError | undefined {
  for (const [kafkaError, code, why] of refusals) {
    if (!hasKafkaError(error, kafkaError)) continue
    return new BridgeError(
      code,
      `Kafka refused a record of this frame (${kafkaError}): ${why}. Nothing of the frame was written (earlier frames were); fix or drop that record and resend from nextSeq`,
    )
  }
  return undefined
}

export function kafkaUnavailable(error: unknown): BridgeError {
  const message = error instanceof Error ? error.message : String(error)
  return new BridgeError(
    ErrorCodes.KAFKA_UNAVAILABLE,
    `Kafka did not commit the records (${message}); reconnect and resend`,
    {
      retryable: true,
      retryAfterMs: 1000,
    },
  )
}

async function partitionCounts(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  topics: Set<string>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  if (topics.size === 0) return counts
  // Cached by the client (metadataMaxAge), so usually no round trip.
  const metadata = await producer.metadata({ topics: [...topics] })
  for (const topic of topics) {
    const count = metadata.topics.get(topic)?.partitionsCount
    if (!count) throw new Error(`no metadata for topic ${topic}`)
    counts.set(topic, count)
  }
  return counts
}

/**
 * CONCURRENT_TRANSACTIONS (the previous transaction's markers are still being
 * written) usually clears within milliseconds, and back-to-back transactions
 * meet it often (0.6 times per transaction at half load in the ingest
 * benchmark): the first 5 retries come after 3 ms each (Java's client waits
 * 20 ms), not the 100 ms that would stall each transaction. Then the delay
 * doubles, up to 200 ms: a broker busy enough to take longer must not turn
 * the error into a failed transaction (10 retries of 3 ms gave up after
 * ~40 ms under load). Anything else backs off from 100 ms.
 */
export function transactionRetryDelay(
  _client: unknown,
  _operation: string,
  attempt: number,
  _retries: number,
  error: Error,
): number {
  return hasKafkaError(error, 'CONCURRENT_TRANSACTIONS')
    ? Math.min(3 * 2 ** Math.max(0, attempt - 5), 200)
    : Math.min(100 * 2 ** (attempt - 1), 1000)
}

/**
 * Each write's acks. One produce request writes each partition's records as
 * one batch, so the n-th message of a partition in the request (`places`,
 * per record) sits at that partition's base offset + n.
 */
function ackRanges(
  batch: LaneWrite[],
  partitions: number[],
  places: number[],
  offsets: { topic: string; partition: number; offset: bigint }[],
): AckRange[][] {
  const base = new Map<string, Map<number, number>>()
  for (const o of offsets) {
    let partitions = base.get(o.topic)
    if (partitions === undefined) {
      partitions = new Map()
      base.set(o.topic, partitions)
    }
    partitions.set(o.partition, Number(o.offset))
  }
  let at = 0
  return batch.map((write) => {
    const ranges: AckRange[] = []
    let current: AckRange | undefined
    for (const record of write.records) {
      const partition = partitions[at] as number
      const partitionBase = base.get(record.topic)?.get(partition)
      if (partitionBase === undefined) throw new Error(`no offset reported for ${record.topic}:${partition}`)
      const offset = partitionBase + (places[at++] as number)
      if (
        current &&
        current.topic === record.topic &&
        current.partition === partition &&
        current.to === record.seq - 1 &&
        (current.offset as number) + (record.seq - current.from) === offset
      ) {
        current.to = record.seq
      } else {
        current = { from: record.seq, to: record.seq, topic: record.topic, partition, offset }
        ranges.push(current)
      }
    }
    return ranges
  })
}
