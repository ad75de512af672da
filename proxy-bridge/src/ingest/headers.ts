import type { RecordHeaders } from '@kafka-edge/edge-agent/protocol'

/** A record's headers as Kafka takes them, and their bytes (counted toward maxRecordBytes). */
export interface KafkaHeaders {
  map: Map<Buffer, Buffer>
  bytes: number
}

/** Most records carry no headers: they share this, which nothing mutates. */
export const noHeaders: KafkaHeaders = { map: new Map(), bytes: 0 }

/**
 * Encodes headers the schema already checked (§6.4: count, lengths, strings)
 * as UTF-8, in property order. The one place both `records` and `columns`
 * turn headers into bytes, so both count them alike.
 */
export function kafkaHeaders(headers: RecordHeaders): KafkaHeaders {
  const map = new Map<Buffer, Buffer>()
  let bytes = 0
  for (const name in headers) {
    const value = headers[name] as string
    const k = names.get(name) ?? internName(name)
    const v = Buffer.from(value, 'utf8')
    map.set(k, v)
    bytes += k.length + v.length
  }
  return { map, bytes }
}

// A fleet uses a handful of header names (a trace id, a schema) on every
// record: each name is encoded once, not per record. Nothing mutates these
// buffers; the batch encoder copies them. Bounded against a device that makes
// up names.
const names = new Map<string, Buffer>()
const maxNames = 1024

function internName(name: string): Buffer {
  if (names.size >= maxNames) names.clear()
  const b = Buffer.from(name, 'utf8')
  names.set(name, b)
  return b
}
