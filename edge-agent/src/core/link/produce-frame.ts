// Builds produce frames as JSON text straight from outbox entries: a json
// payload is spliced in as it was stored, so Kafka gets the appended bytes
// unchanged, and the frame's byte size (what the bridge counts against
// credits and maxFrameBytes) is known exactly before it is sent.
import { encodeBase64 } from '../base64.ts'
import type { OutboxEntry } from '../outbox/record.ts'

const utf8Decoder = new TextDecoder()
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

export function recordJson(entry: OutboxEntry): string {
  let value: string
  let encoding = ''
  switch (entry.encoding) {
    case 'json':
      value = utf8Decoder.decode(entry.payload)
      break
    case 'text':
      value = JSON.stringify(utf8Decoder.decode(entry.payload))
      encoding = ',"encoding":"text"'
      break
    case 'bytes':
      value = `"${encodeBase64(entry.payload)}"`
      encoding = ',"encoding":"base64"'
      break
  }
  const topic = entry.topic === undefined ? '' : `,"topic":${JSON.stringify(entry.topic)}`
  const headers = entry.headers === undefined ? '' : `,"headers":${JSON.stringify(entry.headers)}`
  return `{"seq":${entry.seq}${topic}${encoding},"value":${value}${headers},"timestamp":${entry.timestamp}}`
}

export interface BuiltFrame {
  text: string
  bytes: number
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
  let bytes = utf8Length(head) + 2
  const parts: string[] = []
  for (const entry of entries) {
    const part = recordJson(entry)
    const size = utf8Length(part) + (parts.length ? 1 : 0)
    if (bytes + size > maxBytes) break
    parts.push(part)
    bytes += size
  }
  const first = entries[0]
  if (!first || parts.length === 0) return undefined
  return {
    text: `${head}${parts.join(',')}]}`,
    bytes,
    fromSeq: first.seq,
    toSeq: first.seq + parts.length - 1,
    count: parts.length,
  }
}
