import {
  type ClaimValue,
  decodeState,
  type IdempotencyValue,
  idempotencyStateKey,
  isClaimKey,
  isIdempotencyStateKey,
  isPositionsKey,
} from './device-state.ts'
import { KeyedWaiters } from './keyed-waiters.ts'
import type { LogRecord } from './log-reader.ts'
import { TopicFollower } from './topic-follower.ts'

/** [partition, offset, timestamp ms] of one record a REST request wrote. */
export type StoredReport = [number, number, number]

/** What the bridges remember of one Idempotency-Key of one (virtual) device. */
export interface IdempotencyEntry {
  /** The (virtual) device whose records these are. */
  deviceId: string
  topic: string
  /** Newest write under this key, ms since the epoch: the entry expires `idempotencyTtlMs` after it. */
  at: number
  /** By record number within the request. */
  reports: Map<number, StoredReport>
  /** The device-state keys its records were stored under: tombstoned once it expires. */
  stateKeys: Set<string>
}

/** An expired idempotency record of the device-state topic: its key, and the (virtual) device it belongs to. */
export interface ExpiredStateKey {
  deviceId: string
  key: string
}

/**
 * Every bridge reads the whole compacted device-state topic (read_committed)
 * into memory: the watermark of each device, and the claims bridges write
 * when they take a device over. No bridge holds state that another cannot
 * rebuild from Kafka.
 */
export class DeviceStateView {
  readonly #watermarks = new Map<string, number>()
  /** `<deviceId>#sub#<topic>` → partition → next offset to deliver. */
  readonly #positions = new Map<string, Record<string, number>>()
  /** Latest claim per device, and the distinct owners of its claims, newest first (at most `maxOwners`). */
  readonly #claims = new Map<string, { claim: string; owner: string | undefined; owners: string[] }>()
  /** Per state partition, the transactional ids that claimed a device there lately, newest first. */
  readonly #partitionOwners = new Map<number, string[]>()
  readonly #claimWaiters = new KeyedWaiters<string[]>()
  // A handful of bridges own every device: one string per owner, not per claim.
  readonly #ownerNames = new Map<string, string>()
  readonly #idempotency = new Map<string, IdempotencyEntry>()
  readonly #idempotencyTtlMs: number
  readonly #pruneTimer: NodeJS.Timeout
  readonly #follower: TopicFollower

  readonly #onExpired: (keys: ExpiredStateKey[]) => void

  /**
   * `onExpired` gets the keys of idempotency records that outlived
   * `idempotencyTtlMs`, for tombstones: without them the compacted topic
   * would keep one record per Idempotency-Key ever used.
   */
  constructor(
    brokers: string[],
    clientId: string,
    topic: string,
    idempotencyTtlMs = 3_600_000,
    onExpired: (keys: ExpiredStateKey[]) => void = () => {},
  ) {
    this.#idempotencyTtlMs = idempotencyTtlMs
    this.#onExpired = onExpired
    this.#pruneTimer = setInterval(() => this.#pruneIdempotency(), Math.min(idempotencyTtlMs, 60_000))
    this.#pruneTimer.unref()
    this.#follower = new TopicFollower(brokers, `${clientId}-state`, topic, (record) => this.#apply(record), {
      batched: stateFetch,
    })
  }

  start(): Promise<void> {
    return this.#follower.start()
  }

  #apply(message: LogRecord): void {
    const key = message.key?.toString('utf8')
    if (!key) return
    const value = decodeState(message.value ?? undefined)
    if (!value) return
    if (isClaimKey(key)) {
      // Watermark records name a claim too (their writer's); only a claim record has no watermark.
      if ('claim' in value && !('watermark' in value)) this.#applyClaim(value, message.partition)
      return
    }
    if (isPositionsKey(key)) {
      if ('positions' in value && value.positions && typeof value.positions === 'object') {
        this.#positions.set(key, value.positions)
      }
      return
    }
    if ('reports' in value) {
      if (isIdempotencyStateKey(key)) this.rememberIdempotency(value, key)
      return
    }
    if ('watermark' in value) {
      const current = this.#watermarks.get(key) ?? 0
      // Compaction may replay an older value only before a newer one; never move backwards.
      if (value.watermark > current) this.#watermarks.set(key, value.watermark)
      if (value.claim !== undefined) this.#settleOwners(value.deviceId, value.claim)
    }
  }

  /**
   * The latest claim's owner wrote under it, so it had fenced every earlier
   * owner: the next claim need fence only it. Without this, the owners of
   * bridges long gone would be fenced at every move, and their ids kept alive
   * in Kafka's transaction state by those very fences.
   */
  #settleOwners(deviceId: string, claim: string): void {
    const latest = this.#claims.get(deviceId)
    if (latest?.claim === claim && latest.owner && latest.owners.length > 1) latest.owners = [latest.owner]
  }

  #applyClaim(value: ClaimValue, partition: number): void {
    const prior = mergeOwners(this.#claims.get(value.deviceId)?.owners ?? [], value.owners ?? [])
    const owner = typeof value.owner === 'string' ? this.#intern(value.owner) : undefined
    const owners = owner ? mergeOwners([owner], prior) : prior
    if (owner) {
      const lately = this.#partitionOwners.get(partition) ?? []
      if (lately[0] !== owner) this.#partitionOwners.set(partition, mergeOwners([owner], lately, maxPartitionOwners))
    }
    this.#claims.set(value.deviceId, { claim: value.claim, owner, owners })
    this.#claimWaiters.settle(value.claim, prior)
  }

  #intern(name: string): string {
    const known = this.#ownerNames.get(name)
    if (known) return known
    this.#ownerNames.set(name, name)
    return name
  }

  /** Resolves once everything committed to the topic before the call has been applied; rejects after timeoutMs. */
  caughtUp(timeoutMs = 5000): Promise<void> {
    return this.#follower.caughtUp(timeoutMs)
  }

  /** The id of the device's latest claim, if any bridge claimed it. */
  latestClaim(deviceId: string): string | undefined {
    return this.#claims.get(deviceId)?.claim
  }

  /** Transactional ids that claimed the device, newest first. */
  owners(deviceId: string): readonly string[] {
    return this.#claims.get(deviceId)?.owners ?? []
  }

  /**
   * Transactional ids that claimed a device on this state partition lately,
   * newest first (at most 16): whoever may hold a transaction open there.
   */
  partitionOwners(partition: number): readonly string[] {
    return this.#partitionOwners.get(partition) ?? []
  }

  /** A device's stored delivery positions for a topic (partition → next offset), if any. */
  positions(key: string): Record<string, number> | undefined {
    return this.#positions.get(key)
  }

  /** Highest committed sequence number seen for the device; 0 when none. May lag Kafka by a fetch. */
  watermark(deviceId: string): number {
    return this.#watermarks.get(deviceId) ?? 0
  }

  /**
   * Reports of an Idempotency-Key of a (virtual) device, unless expired. Exact
   * once this bridge claimed the device: the claim was read back after them.
   */
  idempotency(deviceId: string, keyHash: string): IdempotencyEntry | undefined {
    const entry = this.#idempotency.get(`${deviceId}#${keyHash}`)
    return entry && Date.now() - entry.at < this.#idempotencyTtlMs ? entry : undefined
  }

  /** Indexes an idempotency record: read from the topic (with its key), or just committed by this bridge. */
  rememberIdempotency(
    value: IdempotencyValue,
    stateKey = idempotencyStateKey(value.deviceId, value.idem, value.first, value.at),
  ): void {
    if (!Array.isArray(value.reports)) return
    if (Date.now() - value.at >= this.#idempotencyTtlMs) {
      // Read back after it expired (this bridge was down then, say): still removed from the topic.
      this.#onExpired([{ deviceId: value.deviceId, key: stateKey }])
      return
    }
    const id = `${value.deviceId}#${value.idem}`
    let entry = this.#idempotency.get(id)
    if (!entry) {
      entry = { deviceId: value.deviceId, topic: value.topic, at: value.at, reports: new Map(), stateKeys: new Set() }
      this.#idempotency.set(id, entry)
    }
    entry.stateKeys.add(stateKey)
    entry.at = Math.max(entry.at, value.at)
    for (const [i, report] of value.reports.entries()) entry.reports.set(value.first + i, report)
  }

  #pruneIdempotency(): void {
    const oldest = Date.now() - this.#idempotencyTtlMs
    const expired: ExpiredStateKey[] = []
    for (const [id, entry] of this.#idempotency) {
      if (entry.at > oldest) continue
      this.#idempotency.delete(id)
      for (const key of entry.stateKeys) expired.push({ deviceId: entry.deviceId, key })
    }
    if (expired.length > 0) this.#onExpired(expired)
  }

  /**
   * Resolves once the claim record has been read (everything committed before
   * it has been applied) with the owners of the device's earlier claims,
   * newest first. Call before producing the claim.
   */
  expectClaim(claim: string, timeoutMs: number): Promise<string[]> {
    const release = this.#follower.hurry()
    const read = this.#claimWaiters.wait(claim, timeoutMs, () => {
      throw new Error(`device-state claim ${claim} not read back within ${timeoutMs} ms`)
    })
    read.then(release, release)
    return read
  }

  async close(): Promise<void> {
    clearInterval(this.#pruneTimer)
    await this.#follower.close()
  }
}

/**
 * Under load every transaction commits state records, and a tail that
 * returned on each commit fetched ~200 times a second in the ingest
 * benchmark: the broker spent 7-9 points of a core less with this. Claims
 * and catch-ups hurry the tail, so they wait at most one such fetch.
 */
const stateFetch = { maxWaitMs: 50, minBytes: 1024 * 1024 }

/** Owners a claim must fence are few; more than this many distinct ones were fenced by the claims in between. */
const maxOwners = 8
/** Lanes that wrote to one state partition lately: a few per live bridge. */
const maxPartitionOwners = 16

function mergeOwners(first: readonly string[], then: readonly string[], max = maxOwners): string[] {
  const out: string[] = []
  for (const owner of [...first, ...then]) {
    if (typeof owner === 'string' && owner && !out.includes(owner)) out.push(owner)
    if (out.length === max) break
  }
  return out
}
