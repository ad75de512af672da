import { Consumer, FetchIsolationLevels } from '@platformatic/kafka'

const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
const CONTROL_ABORT = 0

/** One committed data record of a partition. */
export interface LogRecord {
  topic: string
  partition: number
  offset: bigint
  key: Buffer | null
  value: Buffer | null
  headers: [Buffer, Buffer][]
  timestamp: bigint
}

export interface FetchResult {
  records: LogRecord[]
  /** Where the next fetch of this partition starts: past data, markers and aborted batches. */
  nextOffset: bigint
}

interface Placement {
  topicId: string
  leaders: number[]
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>
type ResponsePartition = FetchResponse['responses'][number]['partitions'][number]
type Batch = NonNullable<ResponsePartition['records']>[number]

/**
 * Reads partitions at offsets the caller chooses, read_committed, without a
 * consumer group: the exact position (markers included) is the caller's to
 * keep, so it can be stored in Kafka and resumed on any bridge. Records of
 * aborted transactions are dropped here, whether or not the broker sent them.
 */
export class LogReader {
  readonly #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  readonly #placements = new Map<string, Placement>()

  constructor(brokers: string[], clientId: string) {
    // The group id is never joined: fetch and metadata need no membership.
    this.#consumer = new Consumer({ clientId, groupId: `${clientId}-unused`, bootstrapBrokers: brokers })
  }

  async partitions(topic: string): Promise<number> {
    return (await this.#placement(topic)).leaders.length
  }

  async #placement(topic: string, refresh = false): Promise<Placement> {
    const known = this.#placements.get(topic)
    if (known && !refresh) return known
    const metadata = await this.#consumer.metadata({ topics: [topic], forceUpdate: refresh })
    const info = metadata.topics.get(topic)
    if (!info) throw new Error(`topic ${topic} not found`)
    const placement = { topicId: info.id, leaders: info.partitions.map((p) => p.leader) }
    this.#placements.set(topic, placement)
    return placement
  }

  /** Offsets of the first record at or after `timestamp` (ms), or the end, per partition. */
  async offsetsForTime(topic: string, timestamp: number): Promise<bigint[]> {
    const offsets = await this.#consumer.listOffsets({
      topics: [topic],
      timestamp: BigInt(timestamp),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    return offsets.get(topic) ?? []
  }

  /** The current end (last stable offset) of every partition. */
  async endOffsets(topic: string): Promise<bigint[]> {
    const offsets = await this.#consumer.listOffsets({
      topics: [topic],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    return offsets.get(topic) ?? []
  }

  /** Fetches several partitions of one topic from the given offsets; waits up to maxWaitMs for minBytes of data (default 1). */
  async fetch(
    topic: string,
    from: Map<number, bigint>,
    options: { maxWaitMs?: number; maxBytes?: number; minBytes?: number } = {},
  ): Promise<Map<number, FetchResult>> {
    let placement = await this.#placement(topic)
    const byLeader = new Map<number, number[]>()
    for (const partition of from.keys()) {
      const leader = placement.leaders[partition]
      if (leader === undefined) throw new Error(`topic ${topic} has no partition ${partition}`)
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition])
    }
    const results = new Map<number, FetchResult>()
    try {
      await Promise.all(
        [...byLeader].map(async ([node, partitions]) => {
          const response: FetchResponse = await this.#consumer
            .fetch({
              node,
              isolationLevel: FetchIsolationLevels.READ_COMMITTED,
              maxWaitTime: options.maxWaitMs ?? 200,
              minBytes: options.minBytes ?? 1,
              maxBytes: options.maxBytes ?? 8 * 1024 * 1024,
              topics: [
                {
                  topicId: placement.topicId,
                  partitions: partitions.map((partition) => ({
                    partition,
                    fetchOffset: from.get(partition) ?? 0n,
                    currentLeaderEpoch: -1,
                    lastFetchedEpoch: -1,
                    partitionMaxBytes: options.maxBytes ?? 1024 * 1024,
                  })),
                },
              ],
            })
            .catch((error: unknown) => {
              // Partition-level errors (e.g. offset out of range) still carry the response.
              const partial = (error as { response?: FetchResponse }).response
              if (partial?.responses) return partial
              throw error
            })
          for (const topicResponse of response.responses) {
            for (const p of topicResponse.partitions) {
              results.set(p.partitionIndex, committedRecords(topic, p, from.get(p.partitionIndex) ?? 0n))
            }
          }
        }),
      )
    } catch (error) {
      // Leadership or topic ids may have moved: look again next time.
      placement = await this.#placement(topic, true).catch(() => placement)
      throw error
    }
    return results
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#consumer.close(true, () => resolve()))
  }
}

function isAbortMarker(batch: Batch): boolean {
  const key = batch.records[0]?.key
  return !!key && key.length >= 4 && key.readInt16BE(2) === CONTROL_ABORT
}

/** The committed data records of one partition's response, and where to fetch next. */
function committedRecords(topic: string, p: ResponsePartition, requested: bigint): FetchResult {
  const records: LogRecord[] = []
  let next = requested
  // Producers whose open transaction at this point was aborted, per the broker's list.
  const pending = [...p.abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
  const aborting = new Set<bigint>()
  for (const batch of p.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    if (last >= next) next = last + 1n
    while (pending.length > 0 && (pending[0] as { firstOffset: bigint }).firstOffset <= last) {
      aborting.add((pending.shift() as { producerId: bigint }).producerId)
    }
    if (batch.attributes & IS_CONTROL) {
      if (isAbortMarker(batch)) aborting.delete(batch.producerId)
      continue
    }
    if (batch.attributes & IS_TRANSACTIONAL && aborting.has(batch.producerId)) continue
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta)
      if (offset < requested) continue
      records.push({
        topic,
        partition: p.partitionIndex,
        offset,
        key: record.key,
        value: record.value,
        headers: record.headers.map(([k, v]) => [k ?? Buffer.alloc(0), v ?? Buffer.alloc(0)]),
        timestamp: batch.firstTimestamp + record.timestampDelta,
      })
    }
  }
  // An out-of-range offset (compaction, retention) restarts at the log start.
  if (p.errorCode === 1 && p.logStartOffset > next) next = p.logStartOffset
  return { records, nextOffset: next }
}
