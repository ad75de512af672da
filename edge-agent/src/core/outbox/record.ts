// What a caller appends to an outbox, and what the outbox hands the link.

/** json (default): any JSON value; text: a string; bytes: a Uint8Array. Kafka gets the same bytes in every case. */
export type OutboxEncoding = 'json' | 'text' | 'bytes'

export interface OutboxRecordInput {
  /** Defaults to the bridge's records topic. */
  topic?: string
  value: unknown
  encoding?: OutboxEncoding
  headers?: Record<string, string>
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number
}

/** A record held by an outbox, with the sequence number it will carry to the bridge. */
export interface OutboxEntry {
  seq: number
  topic?: string
  encoding: OutboxEncoding
  /** The exact bytes Kafka will hold as the record value. */
  payload: Uint8Array
  headers?: Record<string, string>
  timestamp: number
  /** When it was appended, ms since the epoch (drives TTL and oldest-age). */
  appendedAt: number
  /** Size the record takes in the outbox (on disk, framed). */
  size: number
  /**
   * A marker in place of a record whose bytes failed their check (docs/outbox.md):
   * its age is unknown, and appendedAt is when it was read.
   */
  corrupt?: true
}

const utf8 = new TextEncoder()

/** Whether `t` is ms since the epoch as Kafka takes it (fractions are dropped when sent). */
export function isEpochMs(t: number): boolean {
  return Number.isFinite(t) && t >= 0 && t <= Number.MAX_SAFE_INTEGER
}

/** Turns an appended value into the bytes Kafka will hold; throws E_OUTBOX_BAD_RECORD when it cannot. */
export function payloadOf(record: OutboxRecordInput): { encoding: OutboxEncoding; payload: Uint8Array } {
  // Checked here, at append: the bridge would refuse the frame, and the record
  // would block the ones behind it. Fractions of a ms are dropped when sent.
  const { timestamp } = record
  if (timestamp !== undefined && !isEpochMs(timestamp)) {
    throw new OutboxError(
      'E_OUTBOX_BAD_RECORD',
      `timestamp ${timestamp} is not ms since the epoch (a number from 0 to 2^53 - 1, like Date.now())`,
    )
  }
  const encoding = record.encoding ?? 'json'
  switch (encoding) {
    case 'json': {
      const text = JSON.stringify(record.value)
      if (text === undefined) throw new OutboxError('E_OUTBOX_BAD_RECORD', 'value is not representable as JSON')
      return { encoding, payload: utf8.encode(text) }
    }
    case 'text':
      if (typeof record.value !== 'string') {
        throw new OutboxError('E_OUTBOX_BAD_RECORD', 'encoding "text" needs a string value')
      }
      return { encoding, payload: utf8.encode(record.value) }
    case 'bytes':
      if (!(record.value instanceof Uint8Array)) {
        throw new OutboxError('E_OUTBOX_BAD_RECORD', 'encoding "bytes" needs a Uint8Array value')
      }
      return { encoding, payload: record.value }
    default:
      throw new OutboxError('E_OUTBOX_BAD_RECORD', `unknown encoding "${String(encoding)}"`)
  }
}

/** Outbox error codes; listed with the protocol's in docs/outbox.md. */
export const OutboxErrorCodes = {
  FULL: 'E_OUTBOX_FULL',
  BAD_RECORD: 'E_OUTBOX_BAD_RECORD',
  CLOSED: 'E_OUTBOX_CLOSED',
  CORRUPT: 'E_OUTBOX_CORRUPT',
  LOCKED: 'E_OUTBOX_LOCKED',
} as const

export type OutboxErrorCode = (typeof OutboxErrorCodes)[keyof typeof OutboxErrorCodes]

export class OutboxError extends Error {
  readonly code: OutboxErrorCode
  constructor(code: OutboxErrorCode, message: string) {
    super(`${code}: ${message}`)
    this.code = code
    this.name = 'OutboxError'
  }
}

/** E_OUTBOX_FULL under the "reject" policy (or when nothing can be dropped). */
export function outboxFull(bytes: number, capBytes: number): OutboxError {
  return new OutboxError(
    'E_OUTBOX_FULL',
    `the outbox holds ${bytes} of ${capBytes} bytes; wait for the link to drain it`,
  )
}
