import type { DeliveredRecord } from '@kafka-edge/edge-agent/protocol/delivery'
import type { LogRecord } from '../kafka/log-reader.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A record's bytes as text when they are valid UTF-8, else as base64. */
export function decodeValue(value: Buffer): { text: string; encoding: 'text' } | { text: string; encoding: 'base64' } {
  try {
    return { text: utf8.decode(value), encoding: 'text' }
  } catch {
    return { text: value.toString('base64'), encoding: 'base64' }
  }
}

export function headersObject(record: LogRecord): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [k, v] of record.headers) headers[k.toString('utf8')] = v.toString('utf8')
  return headers
}

/** A Kafka record as a `records` frame carries it to a device. */
export function toDelivered(record: LogRecord): DeliveredRecord {
  const decoded = record.value ? decodeValue(record.value) : undefined
  return {
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    key: record.key?.toString('utf8') ?? null,
    value: decoded?.text ?? null,
    encoding: decoded?.encoding ?? 'text',
    headers: headersObject(record),
    timestamp: Number(record.timestamp),
  }
}
