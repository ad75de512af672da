import { ErrorCodes, type ProduceColumns, type ProduceFrame, type ProduceRecord } from '@kafka-edge/edge-agent/protocol'
import type { DeviceIdentity } from '../auth/tokens.ts'
import type { TopicNames } from '../config.ts'
import { BridgeError } from '../errors.ts'
import type { EncodedRecord } from '../kafka/device-writer.ts'
import type { TopicCatalog } from '../kafka/topic-catalog.ts'
import { mayProduce } from '../auth/topic-acl.ts'
import { isStandardBase64 } from './base64.ts'
import { kafkaHeaders, noHeaders } from './headers.ts'

export interface DecodeContext {
  identity: DeviceIdentity
  topics: TopicNames
  maxRecordBytes: number
  catalog: TopicCatalog
  /** Payload of a binary frame, sliced in record order by records with encoding "binary". */
  binary?: Buffer
  receivedAt: number
}

const maxFutureMs = 55 * 60 * 1000

function valueBytes(record: ProduceRecord, context: DecodeContext, cursor: { at: number }): Buffer {
  switch (record.encoding ?? 'json') {
    case 'json':
      return Buffer.from(JSON.stringify(record.value) ?? 'null', 'utf8')
    case 'text':
      if (typeof record.value !== 'string') throw invalid(record.seq, 'encoding "text" needs a string value')
      return Buffer.from(record.value, 'utf8')
    case 'base64':
      if (!isStandardBase64(record.value)) {
        throw invalid(record.seq, 'encoding "base64" needs a standard base64 string (A-Z a-z 0-9 + /, padded with =)')
      }
      return Buffer.from(record.value, 'base64')
    case 'binary': {
      const size = record.value
      if (!context.binary) throw invalid(record.seq, 'encoding "binary" is only valid in a binary frame')
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || cursor.at + size > context.binary.length) {
        throw invalid(record.seq, 'encoding "binary" needs value = its byte length within the frame payload')
      }
      const bytes = context.binary.subarray(cursor.at, cursor.at + size)
      cursor.at += size
      return bytes
    }
  }
}

function invalid(seq: number, why: string): BridgeError {
  return new BridgeError(ErrorCodes.VALUE_INVALID, `record seq ${seq}: ${why}`)
}

/** Throws unless the token allows `topic` and it exists in Kafka. */
async function checkTopic(topic: string, context: DecodeContext): Promise<void> {
  if (!mayProduce(context.identity, topic, context.topics)) {
    throw new BridgeError(ErrorCodes.TOPIC_DENIED, `topic "${topic}" is not in this device's token (claim "topics")`)
  }
  if (!(await context.catalog.exists(topic))) {
    throw new BridgeError(
      ErrorCodes.TOPIC_UNKNOWN,
      `topic "${topic}" does not exist in Kafka; create it or fix the name`,
    )
  }
}

function tooLarge(seq: number, size: number, context: DecodeContext): BridgeError {
  return new BridgeError(
    ErrorCodes.RECORD_TOO_LARGE,
    `record seq ${seq} is ${size} bytes; the limit is ${context.maxRecordBytes} (limits.maxRecordBytes)`,
  )
}

// Kafka refuses records stamped more than an hour ahead (message.timestamp.after.max.ms).
function checkTimestamp(seq: number, timestamp: number, context: DecodeContext): void {
  if (timestamp > context.receivedAt + maxFutureMs) {
    throw invalid(seq, `timestamp ${timestamp} is more than 55 minutes in the future; check the device clock`)
  }
}

function unclaimedPayload(binary: Buffer, at: number): BridgeError {
  return new BridgeError(
    ErrorCodes.VALUE_INVALID,
    `binary frame payload has ${binary.length - at} bytes no record claims`,
  )
}

/**
 * Turns a produce frame into Kafka records: checks the sequence is
 * consecutive, the topic is allowed and exists, each value decodes and fits.
 * Nothing of a frame is accepted when one record is wrong.
 */
export function decodeProduce(frame: ProduceFrame, context: DecodeContext): Promise<EncodedRecord[]> {
  return frame.records ? decodeRecords(frame.records, context) : decodeColumns(frame.columns, context)
}

async function decodeRecords(records: ProduceRecord[], context: DecodeContext): Promise<EncodedRecord[]> {
  const out: EncodedRecord[] = []
  const cursor = { at: 0 }
  const checkedTopics = new Set<string>()
  // Records without a timestamp share the frame's: one bigint, not one per record.
  const receivedAt = BigInt(context.receivedAt)
  let previous: number | undefined
  for (const record of records) {
    if (previous !== undefined && record.seq !== previous + 1) {
      throw new BridgeError(
        record.seq <= previous ? ErrorCodes.SEQ_BACKWARDS : ErrorCodes.SEQ_GAP,
        `records of a frame must have consecutive seqs: ${record.seq} follows ${previous}`,
      )
    }
    previous = record.seq
    const topic = record.topic ?? context.topics.records
    if (!checkedTopics.has(topic)) {
      await checkTopic(topic, context)
      checkedTopics.add(topic)
    }
    const value = valueBytes(record, context, cursor)
    const headers = record.headers ? kafkaHeaders(record.headers) : noHeaders
    const size = value.length + headers.bytes
    if (size > context.maxRecordBytes) throw tooLarge(record.seq, size, context)
    if (record.timestamp !== undefined) checkTimestamp(record.seq, record.timestamp, context)
    out.push({
      seq: record.seq,
      topic,
      value,
      headers: headers.map,
      timestamp: record.timestamp === undefined ? receivedAt : BigInt(record.timestamp),
    })
  }
  if (context.binary && cursor.at !== context.binary.length) throw unclaimedPayload(context.binary, cursor.at)
  return out
}

// The columnar form: one topic check, and each value a slice of the payload.
async function decodeColumns(columns: ProduceColumns, context: DecodeContext): Promise<EncodedRecord[]> {
  const { seq, sizes, timestampDeltas, headers } = columns
  const binary = context.binary
  if (!binary) {
    throw new BridgeError(ErrorCodes.VALUE_INVALID, '"columns" is only valid in a binary frame (protocol §6.3)')
  }
  if (timestampDeltas && timestampDeltas.length !== sizes.length) {
    throw new BridgeError(
      ErrorCodes.BAD_FRAME,
      `columns has ${sizes.length} sizes but ${timestampDeltas.length} timestampDeltas; send one of each per record`,
    )
  }
  // An array names each record's headers; an object, encoded once here, every record's.
  const perRecord = Array.isArray(headers) ? headers : undefined
  if (perRecord && perRecord.length !== sizes.length) {
    throw new BridgeError(
      ErrorCodes.BAD_FRAME,
      `columns has ${sizes.length} sizes but ${perRecord.length} headers; send one entry (or null) per record`,
    )
  }
  const shared = headers === undefined || Array.isArray(headers) ? noHeaders : kafkaHeaders(headers)
  if (seq + sizes.length - 1 > Number.MAX_SAFE_INTEGER) {
    throw new BridgeError(ErrorCodes.BAD_FRAME, `columns: seq ${seq} + ${sizes.length} records passes 2^53 - 1`)
  }
  const topic = columns.topic ?? context.topics.records
  await checkTopic(topic, context)
  const receivedAt = BigInt(context.receivedAt)
  const out = new Array<EncodedRecord>(sizes.length)
  let at = 0
  let time = 0
  let timestamp = receivedAt
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i] as number
    const entry = perRecord?.[i]
    const recordHeaders = entry ? kafkaHeaders(entry) : shared
    if (size + recordHeaders.bytes > context.maxRecordBytes) {
      throw tooLarge(seq + i, size + recordHeaders.bytes, context)
    }
    if (at + size > binary.length) {
      throw invalid(seq + i, `its size ${size} runs past the end of the frame's payload`)
    }
    // A delta of 0 (records of the same ms) reuses the previous bigint.
    if (timestampDeltas && (i === 0 || timestampDeltas[i] !== 0)) {
      time += timestampDeltas[i] as number
      if (time < 0) {
        throw invalid(seq + i, `timestampDeltas sum to ${time}, before the epoch`)
      }
      checkTimestamp(seq + i, time, context)
      timestamp = BigInt(time)
    }
    out[i] = { seq: seq + i, topic, value: binary.subarray(at, at + size), headers: recordHeaders.map, timestamp }
    at += size
  }
  if (at !== binary.length) throw unclaimedPayload(binary, at)
  return out
}
