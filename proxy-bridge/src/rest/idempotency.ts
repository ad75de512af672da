import { createHash } from 'node:crypto'
import { type AckRange, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { encodeState, type IdempotencyValue, idempotencyStateKey } from '../kafka/device-state.ts'
import type { Receipt } from '../kafka/device-writer.ts'
import type { StoredReport } from '../kafka/state-view.ts'

export const IDEMPOTENCY_HEADER = 'idempotency-key'

const keyPattern = /^[\x21-\x7e]{1,255}$/

/**
 * The Idempotency-Key header, hashed: the raw key never reaches Kafka, and
 * any printable key maps to a fixed-size, separator-free state key.
 */
export function idempotencyKeyHash(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  const key = Array.isArray(header) ? header[0] : header
  if (typeof key !== 'string' || !keyPattern.test(key)) {
    throw new BridgeError(
      ErrorCodes.BAD_REQUEST,
      'Idempotency-Key must be 1-255 printable ASCII characters (no spaces)',
    )
  }
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)
}

/**
 * The state record a write under an Idempotency-Key commits with its records:
 * the [partition, offset, timestamp] of request records `first`, `first + 1`...
 * `onCommitted` gets the same value so this bridge knows it before reading it back.
 */
export function idempotencyReceipt(options: {
  deviceId: string
  keyHash: string
  topic: string
  first: number
  timestamps: number[]
}): { receipt: Receipt; value: () => IdempotencyValue | undefined } {
  let written: IdempotencyValue | undefined
  const receipt: Receipt = (ranges: AckRange[]) => {
    const reports: StoredReport[] = []
    for (const range of ranges) {
      for (let seq = range.from; seq <= range.to; seq++) {
        const i = reports.length
        reports.push([range.partition ?? -1, (range.offset ?? -1) + (seq - range.from), options.timestamps[i] ?? 0])
      }
    }
    written = {
      v: 1,
      deviceId: options.deviceId,
      idem: options.keyHash,
      topic: options.topic,
      first: options.first,
      reports,
      at: Date.now(),
    }
    return {
      key: idempotencyStateKey(options.deviceId, options.keyHash, options.first, written.at),
      value: encodeState(written),
    }
  }
  return { receipt, value: () => written }
}

/**
 * Requests of one bridge with the same (device, Idempotency-Key) run one
 * after another, so a retry that arrives while the original is still in
 * flight waits for it and is then answered from its reports.
 */
export class IdempotencyLocks {
  readonly #tails = new Map<string, Promise<void>>()

  async lock(id: string): Promise<() => void> {
    const previous = this.#tails.get(id) ?? Promise.resolve()
    let unlock!: () => void
    const mine = new Promise<void>((resolve) => {
      unlock = resolve
    })
    const tail = previous.then(() => mine)
    this.#tails.set(id, tail)
    await previous
    return () => {
      unlock()
      if (this.#tails.get(id) === tail) this.#tails.delete(id)
    }
  }
}
