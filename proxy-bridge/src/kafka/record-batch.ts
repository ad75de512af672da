/**
 * A Kafka record batch (magic v2) written into one buffer.
 *
 * @platformatic/kafka 1.35 encodes each record through its own Writer: about
 * ten small Buffers and 2 KB of garbage per record, then copies them all
 * together. Under load that was a fifth of the bridge's CPU and most of its
 * garbage (docs/architecture.md, "Encoding record batches"). The bridge has
 * the client call `encodeRecordBatch` first (scripts/record-batch-edit.ts); it
 * returns undefined for what it does not handle (compression, headers that are
 * not a Map, values that are not bytes, timestamps that are not bigints),
 * and the client's own encoder writes those. For what it handles, its bytes
 * are the client's (record-batch.test.ts compares them), but for one fix:
 * the client's zigzag of a timestamp delta shifts by 31 bits instead of 63,
 * so a record more than 24.8 days after the first of its batch (an offline
 * device's backlog next to fresh records) got a timestamp before it. Here
 * deltas are zigzagged as Kafka's varlongs are.
 */

export interface BatchMessage {
  topic: string
  partition?: number
  key?: Uint8Array | null
  value?: Uint8Array | null
  headers?: unknown
  timestamp?: bigint | number
}

/** The options the client passes to its own `createRecordsBatch`. */
export interface BatchOptions {
  transactionalId?: string | null
  producerId?: bigint
  producerEpoch?: number
  partitionLeaderEpoch?: number
  compression?: string
  sequences?: { getWithDefault(key: string, fallback: number): number }
}

const BATCH_HEADER_BYTES = 61
/** Where the CRC'd part starts: after base offset, length, leader epoch, magic and the CRC itself. */
const CRC_FROM = 21
const MAGIC = 2
const TRANSACTIONAL = 1 << 4
/** Deltas beyond this (142,000 years) would not be exact as numbers; the client keeps those batches. */
const MAX_DELTA = 2n ** 52n

/**
 * The batch the client would write, or undefined where the client must write it.
 * Like the client, it sets each message's timestamp (to now where unset).
 */
export function encodeRecordBatch(
  messages: BatchMessage[],
  options: BatchOptions,
  crc32c: (bytes: Uint8Array) => number,
): Buffer | undefined {
  if ((options.compression ?? 'none') !== 'none' || messages.length === 0) return undefined
  const now = BigInt(Date.now())
  const first = messages[0] as BatchMessage
  const firstTimestamp = first.timestamp ?? now
  // The client's own encoder converts numbers to bigints unevenly; it keeps those batches.
  if (typeof firstTimestamp !== 'bigint') return undefined
  let maxTimestamp = firstTimestamp
  const deltas = new Array<number>(messages.length)
  const sizes = new Array<number>(messages.length)
  let total = BATCH_HEADER_BYTES
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as BatchMessage
    const timestamp = message.timestamp ?? now
    if (typeof timestamp !== 'bigint') return undefined
    message.timestamp = timestamp
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const delta = timestamp - firstTimestamp
    if (delta >= MAX_DELTA || delta <= -MAX_DELTA) return undefined
    deltas[i] = Number(delta)
    const size = recordSize(message, deltas[i] as number, i)
    if (size === undefined) return undefined
    sizes[i] = size
    total += varintSize(zigzag(size)) + size
  }

  const out = Buffer.allocUnsafe(total)
  out.writeBigInt64BE(0n, 0)
  out.writeInt32BE(total - 12, 8)
  out.writeInt32BE(options.partitionLeaderEpoch ?? 0, 12)
  out.writeInt8(MAGIC, 16)
  out.writeInt16BE(options.transactionalId ? TRANSACTIONAL : 0, 21)
  out.writeInt32BE(messages.length - 1, 23)
  out.writeBigInt64BE(firstTimestamp, 27)
  out.writeBigInt64BE(maxTimestamp, 35)
  out.writeBigInt64BE(options.producerId ?? -1n, 43)
  out.writeInt16BE(options.producerEpoch ?? 0, 51)
  out.writeInt32BE(options.sequences?.getWithDefault(`${first.topic}:${first.partition}`, 0) ?? 0, 53)
  out.writeInt32BE(messages.length, 57)
  let at = BATCH_HEADER_BYTES
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as BatchMessage
    at = writeVarint(out, at, zigzag(sizes[i] as number))
    out[at++] = 0 // attributes
    at = writeVarint(out, at, zigzag(deltas[i] as number))
    at = writeVarint(out, at, zigzag(i))
    at = writeBytes(out, at, message.key)
    at = writeBytes(out, at, message.value)
    const headers = message.headers as Map<Uint8Array, Uint8Array | null> | undefined
    if (headers == null) {
      out[at++] = 0
      continue
    }
    at = writeVarint(out, at, zigzag(headers.size))
    for (const [key, value] of headers) {
      at = writeBytes(out, at, key)
      at = writeBytes(out, at, value)
    }
  }
  out.writeUInt32BE(crc32c(out.subarray(CRC_FROM)), 17)
  return out
}

/** A record's size after its length prefix, or undefined if the client must encode it. */
function recordSize(message: BatchMessage, delta: number, index: number): number | undefined {
  let size = 1 + varintSize(zigzag(delta)) + varintSize(zigzag(index))
  size += bytesSize(message.key) + bytesSize(message.value)
  const { headers } = message
  if (headers == null) size += 1
  else if (headers instanceof Map) {
    size += varintSize(zigzag(headers.size))
    for (const [key, value] of headers) size += bytesSize(key) + bytesSize(value)
  } else return undefined
  return Number.isNaN(size) ? undefined : size
}

/** A length-prefixed byte string's size; NaN (poisoning the sum) for anything but bytes. */
function bytesSize(bytes: unknown): number {
  if (bytes == null) return 1
  return bytes instanceof Uint8Array ? varintSize(zigzag(bytes.length)) + bytes.length : Number.NaN
}

function writeBytes(out: Buffer, at: number, bytes: Uint8Array | null | undefined): number {
  if (bytes == null) return writeVarint(out, at, zigzag(-1))
  at = writeVarint(out, at, zigzag(bytes.length))
  out.set(bytes, at)
  return at + bytes.length
}

/** Zigzag of an integer below 2^52 in magnitude: 0, -1, 1, -2 ... become 0, 1, 2, 3 ... */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1
}

function varintSize(value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  let size = 5
  for (let rest = Math.floor(value / 2 ** 35); rest > 0; rest = Math.floor(rest / 0x80)) size++
  return size
}

function writeVarint(out: Buffer, at: number, value: number): number {
  // Above 32 bits the shifts below would truncate: peel those bytes off arithmetically.
  while (value > 0xffffffff) {
    out[at++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80
    value >>>= 7
  }
  out[at++] = value
  return at
}
