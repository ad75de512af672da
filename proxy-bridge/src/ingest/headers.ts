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
  for (const [name, value] of Object.entries(headers)) {
    const k = Buffer.from(name, 'utf8')
    const v = Buffer.from(value, 'utf8')
    map.set(k, v)
    bytes += k.length + v.length
  }
  return { map, bytes }
}
