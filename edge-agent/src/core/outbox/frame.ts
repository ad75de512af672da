// The on-disk frame of one outbox record (docs/outbox.md, "Format on disk"):
//
//   u32 LE body length | u32 LE CRC32C(body) | body
//   body = u8 version(1) | u8 encoding | u16 LE topic length | f64 LE seq |
//          f64 LE appendedAt | f64 LE timestamp | u32 LE headers length |
//          topic (UTF-8) | headers (UTF-8 JSON) | payload
//
// Runtime-agnostic (Uint8Array/DataView) so every store can use it.
import { crc32c } from './crc32c.ts'
import type { OutboxEncoding, OutboxEntry } from './record.ts'

/** Length and CRC32C, before each frame's body. */
export const FRAME_HEADER_BYTES = 8
const BODY_FIXED_BYTES = 32
const VERSION = 1
const encodings: OutboxEncoding[] = ['json', 'text', 'bytes']
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

/** What a frame holds: an entry without its framed size. */
export type FrameFields = Omit<OutboxEntry, 'size'>

/**
 * The frame of a record. `seal: false` leaves the CRC out, for a store that
 * learns the seq later and seals the frame then (stampFrame): one CRC per record.
 */
export function encodeFrame(
  fields: FrameFields,
  options: { seal?: boolean; alloc?: (bytes: number) => Uint8Array } = {},
): Uint8Array {
  const topic = fields.topic === undefined ? EMPTY : utf8.encode(fields.topic)
  const headers =
    fields.headers === undefined || Object.keys(fields.headers).length === 0
      ? EMPTY
      : utf8.encode(JSON.stringify(fields.headers))
  const bodyLength = BODY_FIXED_BYTES + topic.length + headers.length + fields.payload.length
  const size = FRAME_HEADER_BYTES + bodyLength
  const out = options.alloc ? options.alloc(size) : new Uint8Array(size)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(0, bodyLength, true)
  const b = FRAME_HEADER_BYTES
  out[b] = VERSION
  out[b + 1] = encodings.indexOf(fields.encoding)
  view.setUint16(b + 2, topic.length, true)
  view.setFloat64(b + 4, fields.seq, true)
  view.setFloat64(b + 12, fields.appendedAt, true)
  view.setFloat64(b + 20, fields.timestamp, true)
  view.setUint32(b + 28, headers.length, true)
  let at = b + BODY_FIXED_BYTES
  out.set(topic, at)
  at += topic.length
  out.set(headers, at)
  at += headers.length
  out.set(fields.payload, at)
  if (options.seal !== false) view.setUint32(4, crc32c(out, b, out.length), true)
  return out
}

/** Writes the seq into a frame and seals it with the CRC of its final body. */
export function stampFrame(frame: Uint8Array, seq: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  view.setFloat64(FRAME_HEADER_BYTES + 4, seq, true)
  view.setUint32(4, crc32c(frame, FRAME_HEADER_BYTES, frame.length), true)
}

export type FrameRead =
  | { kind: 'record'; entry: OutboxEntry; next: number }
  /** Not enough bytes for a whole frame: a torn tail, or the read stopped short. */
  | { kind: 'short'; need: number }
  /** The bytes are there but wrong (CRC or structure). */
  | { kind: 'corrupt'; reason: string; next?: number }

/** Reads the frame at `offset` of `bytes`; verifies its CRC. */
export function readFrame(bytes: Uint8Array, offset: number): FrameRead {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return { kind: 'short', need: FRAME_HEADER_BYTES }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const bodyLength = view.getUint32(offset, true)
  if (bodyLength < BODY_FIXED_BYTES) return { kind: 'corrupt', reason: `impossible body length ${bodyLength}` }
  const end = offset + FRAME_HEADER_BYTES + bodyLength
  if (end > bytes.length) return { kind: 'short', need: FRAME_HEADER_BYTES + bodyLength }
  const b = offset + FRAME_HEADER_BYTES
  if (crc32c(bytes, b, end) !== view.getUint32(offset + 4, true)) {
    return { kind: 'corrupt', reason: 'CRC32C mismatch', next: end }
  }
  const encoding = encodings[bytes[b + 1] as number]
  const topicLength = view.getUint16(b + 2, true)
  const headersLength = view.getUint32(b + 28, true)
  if (bytes[b] !== VERSION || !encoding || BODY_FIXED_BYTES + topicLength + headersLength > bodyLength) {
    return { kind: 'corrupt', reason: 'unknown frame version or bad field lengths', next: end }
  }
  let at = b + BODY_FIXED_BYTES
  const topic = topicLength ? utf8Decoder.decode(bytes.subarray(at, at + topicLength)) : undefined
  at += topicLength
  const headers = headersLength
    ? (JSON.parse(utf8Decoder.decode(bytes.subarray(at, at + headersLength))) as Record<string, string>)
    : undefined
  at += headersLength
  const entry: OutboxEntry = {
    seq: view.getFloat64(b + 4, true),
    encoding,
    payload: bytes.slice(at, end),
    timestamp: view.getFloat64(b + 20, true),
    appendedAt: view.getFloat64(b + 12, true),
    size: end - offset,
  }
  if (topic !== undefined) entry.topic = topic
  if (headers !== undefined) entry.headers = headers
  return { kind: 'record', entry, next: end }
}

/** Length of the frame at `offset` without verifying it, or undefined when the header is cut. */
export function frameLengthAt(bytes: Uint8Array, offset: number): number | undefined {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return FRAME_HEADER_BYTES + view.getUint32(offset, true)
}
