// Builds produce frames as binary messages (protocol §6.3) straight from
// outbox entries: a small JSON header names each record, and the payloads
// follow as the exact bytes the outbox stored. The bridge slices the values
// out of the message instead of parsing and re-encoding each one, bytes
// values skip base64, and the frame's size (what the bridge counts against
// credits and maxFrameBytes) is known exactly before it is built.
import { encodeBinaryFrame } from '../../protocol/v1.ts'
import type { OutboxEntry } from '../outbox/record.ts'

/** UTF-8 byte length of a string without encoding it. */
export function utf8Length(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** The record's entry in the frame header; its value is the payload's length. */
function recordHeader(entry: OutboxEntry): string {
  const topic = entry.topic === undefined ? '' : `,"topic":${JSON.stringify(entry.topic)}`
  const headers = entry.headers === undefined ? '' : `,"headers":${JSON.stringify(entry.headers)}`
  return `{"seq":${entry.seq}${topic},"value":${entry.payload.length},"encoding":"binary"${headers},"timestamp":${entry.timestamp}}`
}

export interface BuiltFrame {
  /** The whole binary message: uint32 BE header length, header, payloads. */
  data: Uint8Array
  fromSeq: number
  toSeq: number
  count: number
}

/**
 * The longest prefix of `entries` that fits in one frame of at most
 * maxBytes; undefined when even the first record does not fit.
 */
export function buildProduceFrame(entries: OutboxEntry[], id: string, maxBytes: number): BuiltFrame | undefined {
  const head = `{"type":"produce","id":${JSON.stringify(id)},"records":[`
  let headerBytes = utf8Length(head) + 2
  let payloadBytes = 0
  const parts: string[] = []
  for (const entry of entries) {
    const part = recordHeader(entry)
    const size = utf8Length(part) + (parts.length ? 1 : 0)
    if (4 + headerBytes + size + payloadBytes + entry.payload.length > maxBytes) break
    parts.push(part)
    headerBytes += size
    payloadBytes += entry.payload.length
  }
  const first = entries[0]
  if (!first || parts.length === 0) return undefined
  const payloads = entries.slice(0, parts.length).map((e) => e.payload)
  const data = encodeBinaryFrame(`${head}${parts.join(',')}]}`, payloads)
  return { data, fromSeq: first.seq, toSeq: first.seq + parts.length - 1, count: parts.length }
}
