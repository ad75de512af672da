import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { isStandardBase64 } from '../ingest/base64.ts'

/** Formats of Confluent's v3 produce API without Schema Registry. */
export type DataType = 'JSON' | 'BINARY' | 'STRING'

/** A REST record decoded into Kafka bytes; the key is the device id, added by the writer. */
export interface RestRecord {
  value: Buffer
  valueType: DataType
  headers: Map<Buffer, Buffer>
  /** ms since the epoch */
  timestamp: number
}

/** Header a client-supplied key is kept in: the Kafka key is always the device id. */
export const CLIENT_KEY_HEADER = 'kafka-edge.client-key'
const clientKeyHeader = Buffer.from(CLIENT_KEY_HEADER)

const dataTypes = new Set<string>(['JSON', 'BINARY', 'STRING'])

function bad(message: string): BridgeError {
  return new BridgeError(ErrorCodes.BAD_REQUEST, message)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Standard, padded base64 (RFC 4648 §4), as Confluent's BINARY format uses. */
export function decodeBase64(text: unknown, what: string): Buffer {
  if (!isStandardBase64(text)) {
    throw new BridgeError(ErrorCodes.VALUE_INVALID, `${what} must be standard base64 (A-Z a-z 0-9 + /, padded with =)`)
  }
  return Buffer.from(text, 'base64')
}

function encodeData(type: DataType, data: unknown, what: string): Buffer {
  switch (type) {
    case 'JSON':
      return Buffer.from(JSON.stringify(data) ?? 'null', 'utf8')
    case 'STRING':
      if (typeof data !== 'string')
        throw new BridgeError(ErrorCodes.VALUE_INVALID, `${what}: type STRING needs a string`)
      return Buffer.from(data, 'utf8')
    case 'BINARY':
      return decodeBase64(data, `${what}.data`)
  }
}

/** `{type, data}` of a v3 key or value; type defaults to JSON. */
function v3Data(field: unknown, what: string): { type: DataType; bytes: Buffer } {
  if (!isObject(field)) throw bad(`${what} must be an object {"type": "JSON"|"BINARY"|"STRING", "data": ...}`)
  for (const schemaField of ['schema', 'schema_id', 'schema_version', 'subject', 'subject_name_strategy']) {
    if (field[schemaField] !== undefined) {
      throw bad(`${what}.${schemaField}: Schema Registry formats are not supported; use JSON, BINARY or STRING`)
    }
  }
  const type = field.type ?? 'JSON'
  if (typeof type !== 'string' || !dataTypes.has(type)) {
    throw bad(`${what}.type must be JSON, BINARY or STRING (Schema Registry formats are not supported)`)
  }
  if (!('data' in field)) throw bad(`${what}.data is required`)
  return { type: type as DataType, bytes: encodeData(type as DataType, field.data, what) }
}

function checkSize(record: RestRecord, maxRecordBytes: number): RestRecord {
  let size = record.value.length
  for (const [k, v] of record.headers) size += k.length + v.length
  if (size > maxRecordBytes) {
    throw new BridgeError(
      ErrorCodes.RECORD_TOO_LARGE,
      `the record is ${size} bytes (value and headers); the limit is ${maxRecordBytes} (limits.maxRecordBytes)`,
    )
  }
  return record
}

function timestampOf(value: unknown, receivedAt: number): number {
  if (value === undefined || value === null) return receivedAt
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(ms) || ms < 0) throw bad('timestamp must be an ISO 8601 date-time (or ms since the epoch)')
  return Math.trunc(ms)
}

/**
 * One record of Confluent's v3 produce API:
 * `{key?, value, headers?: [{name, value (base64)}], timestamp?}`.
 * `partition_id` is refused: a device's records live on its key's partition.
 */
export function decodeV3Record(body: unknown, maxRecordBytes: number, receivedAt: number): RestRecord {
  if (!isObject(body)) throw bad('a record must be a JSON object')
  if (body.partition_id !== undefined && body.partition_id !== null) {
    throw bad("partition_id is not supported: records are keyed by device and go to that key's partition")
  }
  if (body.value === undefined || body.value === null) throw bad('value is required ({"type": ..., "data": ...})')
  const value = v3Data(body.value, 'value')
  const headers = new Map<Buffer, Buffer>()
  if (body.headers !== undefined && body.headers !== null) {
    if (!Array.isArray(body.headers)) throw bad('headers must be an array of {"name", "value" (base64)}')
    for (const header of body.headers) {
      if (!isObject(header) || typeof header.name !== 'string' || header.name.length === 0) {
        throw bad('each header needs a non-empty string "name" and a base64 "value"')
      }
      const bytes =
        header.value === undefined || header.value === null
          ? Buffer.alloc(0)
          : decodeBase64(header.value, `header "${header.name}" value`)
      headers.set(Buffer.from(header.name, 'utf8'), bytes)
    }
  }
  if (body.key !== undefined && body.key !== null) {
    headers.set(clientKeyHeader, v3Data(body.key, 'key').bytes)
  }
  const record = {
    value: value.bytes,
    valueType: value.type,
    headers,
    timestamp: timestampOf(body.timestamp, receivedAt),
  }
  return checkSize(record, maxRecordBytes)
}

export type V2Format = 'json' | 'binary'

/** Records of a v2 request `{"records": [{key?, value, partition?}]}`: all valid, or an error naming the first bad one. */
export function decodeV2Records(
  body: unknown,
  format: V2Format,
  limits: { maxRecordBytes: number; maxBatchRecords: number },
  receivedAt: number,
): RestRecord[] {
  if (!isObject(body) || !Array.isArray(body.records) || body.records.length === 0) {
    throw bad('the body must be {"records": [{"value": ...}, ...]} with at least one record')
  }
  for (const schemaField of ['key_schema', 'key_schema_id', 'value_schema', 'value_schema_id']) {
    if (body[schemaField] !== undefined) throw bad(`${schemaField}: Schema Registry formats are not supported`)
  }
  if (body.records.length > limits.maxBatchRecords) {
    throw new BridgeError(
      ErrorCodes.BATCH_TOO_LARGE,
      `the request has ${body.records.length} records; the limit is ${limits.maxBatchRecords} (limits.maxBatchRecords)`,
    )
  }
  return body.records.map((raw: unknown, i: number) => {
    try {
      if (!isObject(raw)) throw bad('a record must be a JSON object')
      if (raw.partition !== undefined && raw.partition !== null) {
        throw bad("partition is not supported: records are keyed by device and go to that key's partition")
      }
      if (!('value' in raw)) throw bad('value is required')
      const encode = (data: unknown, what: string) =>
        format === 'binary' ? decodeBase64(data, what) : Buffer.from(JSON.stringify(data) ?? 'null', 'utf8')
      const headers = new Map<Buffer, Buffer>()
      if (raw.key !== undefined && raw.key !== null) headers.set(clientKeyHeader, encode(raw.key, 'key'))
      const valueType: DataType = format === 'binary' ? 'BINARY' : 'JSON'
      return checkSize(
        { value: encode(raw.value, 'value'), valueType, headers, timestamp: receivedAt },
        limits.maxRecordBytes,
      )
    } catch (error) {
      if (error instanceof BridgeError) {
        throw new BridgeError(error.code, `records[${i}]: ${error.message}`)
      }
      throw error
    }
  })
}
