import { murmur2 } from '@platformatic/kafka'

/**
 * Records of the compacted device-state topic. Key `<deviceId>`: the device's
 * watermark, written in the same transaction as its records. Key
 * `<deviceId>#claim`: written by a bridge that takes the device over (see
 * ClaimValue). Both keys are written to the device's partition explicitly.
 */
export interface WatermarkValue {
  v: 1
  deviceId: string
  watermark: number
  /**
   * The claim its writer holds. A writer writes only after its claim fenced
   * the earlier owners, so a watermark under the device's latest claim means
   * they need no fence again (DeviceStateView.owners).
   */
  claim?: string
  at: number
}

/**
 * Key `<deviceId>#idem#<keyHash>#<first>#<at>`: what a REST request with an
 * Idempotency-Key wrote, committed in the same transaction as its records.
 * `reports[i]` is [partition, offset, timestamp ms] of the request's record
 * number `first + i`; a retry answers from it instead of writing again.
 */
export interface IdempotencyValue {
  v: 1
  deviceId: string
  idem: string
  topic: string
  first: number
  reports: [number, number, number][]
  at: number
}

/**
 * A bridge took the device over. `owner` is the transactional id that writes
 * the device's records from now on; `owners` the earlier owners the claimer
 * knew of (newest first), carried along so a bridge that reads the topic
 * after compaction still knows whom to fence.
 */
export interface ClaimValue {
  v: 1
  deviceId: string
  claim: string
  bridge: string
  owner: string
  owners: string[]
  at: number
}

const claimSuffix = '#claim'
const idempotencyInfix = '#idem#'
const virtualSeparator = '~'

/**
 * A virtual device is a separate seq space (and transactional id) of a real
 * device, e.g. `dev-1~rest` for its REST requests. Device ids cannot contain
 * `~`, so it never collides with a real device; its records are keyed by the
 * real device id.
 */
export function virtualDeviceId(deviceId: string, space: string): string {
  return `${deviceId}${virtualSeparator}${space}`
}

/** The real device a (possibly virtual) device id belongs to: the key of its records. */
export function recordKeyOf(deviceId: string): string {
  const at = deviceId.indexOf(virtualSeparator)
  return at < 0 ? deviceId : deviceId.slice(0, at)
}

/**
 * `at` (the record's write time) makes every write's key unique: the
 * tombstone a bridge writes for an expired record can never delete a newer
 * one written for the same key and position after it expired.
 */
export function idempotencyStateKey(deviceId: string, keyHash: string, first: number, at: number): string {
  return `${deviceId}${idempotencyInfix}${keyHash}#${first}#${at}`
}

export function isIdempotencyStateKey(key: string): boolean {
  return key.includes(idempotencyInfix)
}

export function claimKey(deviceId: string): string {
  return `${deviceId}${claimSuffix}`
}

export function isClaimKey(key: string): boolean {
  return key.endsWith(claimSuffix)
}

/** Java-compatible partition of a key (murmur2, positive), so every Kafka client agrees with it. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions
}

/** Key `<deviceId>#sub#<topic>`: where a device's deliveries of a topic resume (partition → next offset). */
export interface PositionsValue {
  v: 1
  deviceId: string
  topic: string
  /** partition → next offset to deliver (last acked + 1). */
  positions: Record<string, number>
  at: number
}

const positionsInfix = '#sub#'

export function positionsKey(deviceId: string, topic: string): string {
  return `${deviceId}${positionsInfix}${topic}`
}

export function isPositionsKey(key: string): boolean {
  return key.includes(positionsInfix)
}

export type StateValue = WatermarkValue | ClaimValue | IdempotencyValue | PositionsValue

export function encodeState(value: StateValue): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8')
}

export function decodeState(buffer: Buffer | undefined): StateValue | undefined {
  if (!buffer || buffer.length === 0) return undefined
  try {
    const value = JSON.parse(buffer.toString('utf8')) as StateValue
    return value && value.v === 1 && typeof value.deviceId === 'string' ? value : undefined
  } catch {
    return undefined
  }
}
