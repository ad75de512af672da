// kafka-edge WebSocket protocol, version 1 (subprotocol "kafka-edge.v1").
// Frame types shared by the agent and the bridge; docs/protocol.md explains them.
// A new protocol version is a new file beside this one, not a branch in a handler.

import type { RecordsAckFrame, RecordsFrame, ReplyFrame, SubscribedFrame, SubscribeFrame } from './delivery-v1.ts'

export const SUBPROTOCOL_V1 = 'kafka-edge.v1'

/** Error codes a client can receive, in error frames, close reasons and REST bodies. */
export const ErrorCodes = {
  BAD_FRAME: 'E_BAD_FRAME',
  UNKNOWN_FRAME_TYPE: 'E_UNKNOWN_FRAME_TYPE',
  FRAME_TOO_LARGE: 'E_FRAME_TOO_LARGE',
  BATCH_TOO_LARGE: 'E_BATCH_TOO_LARGE',
  RECORD_TOO_LARGE: 'E_RECORD_TOO_LARGE',
  VALUE_INVALID: 'E_VALUE_INVALID',
  SEQ_BACKWARDS: 'E_SEQ_BACKWARDS',
  SEQ_GAP: 'E_SEQ_GAP',
  TOPIC_DENIED: 'E_TOPIC_DENIED',
  TOPIC_UNKNOWN: 'E_TOPIC_UNKNOWN',
  AUTH_REQUIRED: 'E_AUTH_REQUIRED',
  TOKEN_INVALID: 'E_TOKEN_INVALID',
  TOKEN_EXPIRED: 'E_TOKEN_EXPIRED',
  TOKEN_DEVICE_MISMATCH: 'E_TOKEN_DEVICE_MISMATCH',
  TOKEN_REFRESH_REFUSED: 'E_TOKEN_REFRESH_REFUSED',
  HELLO_REQUIRED: 'E_HELLO_REQUIRED',
  CREDITS_EXCEEDED: 'E_CREDITS_EXCEEDED',
  RATE_LIMITED: 'E_RATE_LIMITED',
  KAFKA_UNAVAILABLE: 'E_KAFKA_UNAVAILABLE',
  SESSION_REPLACED: 'E_SESSION_REPLACED',
  SUBPROTOCOL: 'E_SUBPROTOCOL',
  SHUTTING_DOWN: 'E_SHUTTING_DOWN',
  INTERNAL: 'E_INTERNAL',
  // Request/reply over HTTP (docs/protocol.md §16).
  FORBIDDEN: 'E_FORBIDDEN',
  REQUEST_TIMEOUT: 'E_REQUEST_TIMEOUT',
  REQUEST_UNKNOWN: 'E_REQUEST_UNKNOWN',
  // REST only (docs/rest.md).
  BAD_REQUEST: 'E_BAD_REQUEST',
  BODY_TOO_LARGE: 'E_BODY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'E_UNSUPPORTED_MEDIA_TYPE',
  CLUSTER_UNKNOWN: 'E_CLUSTER_UNKNOWN',
  IDEMPOTENCY_KEY_REUSED: 'E_IDEMPOTENCY_KEY_REUSED',
  // Model distribution (docs/models.md).
  MODEL_UNKNOWN: 'E_MODEL_UNKNOWN',
  MODEL_VERSION_NOT_NEWER: 'E_MODEL_VERSION_NOT_NEWER',
  MODEL_MANIFEST_INVALID: 'E_MODEL_MANIFEST_INVALID',
  SIGNATURE_INVALID: 'E_SIGNATURE_INVALID',
  SIGNING_KEY_UNKNOWN: 'E_SIGNING_KEY_UNKNOWN',
  MODEL_FILE_MISSING: 'E_MODEL_FILE_MISSING',
  MODEL_FILE_UNVERIFIED: 'E_MODEL_FILE_UNVERIFIED',
  PATH_INVALID: 'E_PATH_INVALID',
  RANGE_NOT_SATISFIABLE: 'E_RANGE_NOT_SATISFIABLE',
  // Server-side scoring (docs/models.md, "Server-side scoring"); the input codes are the agent's.
  MODEL_NOT_LOADABLE: 'E_MODEL_NOT_LOADABLE',
  INPUT_INVALID: 'E_INPUT_INVALID',
  FEATURE_MISSING: 'E_FEATURE_MISSING',
  FEATURE_UNKNOWN: 'E_FEATURE_UNKNOWN',
  FEATURE_TYPE: 'E_FEATURE_TYPE',
  FEATURE_SHAPE: 'E_FEATURE_SHAPE',
  INPUT_NAN: 'E_INPUT_NAN',
  OUTPUT_NONFINITE: 'E_OUTPUT_NONFINITE',
  INFERENCE: 'E_INFERENCE',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** WebSocket close codes the bridge uses (4000-4999 are application codes). */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  UNAUTHORIZED: 4401,
  TOKEN_EXPIRED: 4403,
  SESSION_REPLACED: 4409,
} as const

export type RecordEncoding = 'json' | 'text' | 'base64' | 'binary'

/** One record of a produce frame. Sequence numbers start at 1 and grow by 1 per device. */
export interface ProduceRecord {
  seq: number
  /** Defaults to the bridge's records topic (edge.records). */
  topic?: string
  /**
   * json (default): any JSON value, written as JSON.stringify(value);
   * text: a string written as UTF-8; base64: bytes as base64;
   * binary: the byte length of this record's slice of a binary frame's payload.
   */
  value: unknown
  encoding?: RecordEncoding
  headers?: RecordHeaders
  /** Milliseconds since the epoch; defaults to the time the bridge received it. */
  timestamp?: number
}

export interface HelloFrame {
  type: 'hello'
  /** The JWT, when it was not sent in the Authorization header. */
  token?: string
  agent?: { name: string; version: string }
  /**
   * Asks for the exact watermark: the bridge claims the device (fencing any
   * other bridge) before it answers. Costs a Kafka transaction; agents set it
   * only when they will renumber from the watermark (records dropped, or
   * nothing ever acked).
   */
  exact?: boolean
}

/** A record's headers (§6.4): name → value, written as UTF-8 in property order. */
export type RecordHeaders = Record<string, string>

/**
 * Records of one topic described column by column; only in a binary frame,
 * whose payload holds their values in order (§6.3).
 */
export interface ProduceColumns {
  /** The first record's seq; the others follow one by one. */
  seq: number
  /** Defaults to the bridge's records topic (edge.records). */
  topic?: string
  /** Each record's value byte length in the payload. */
  sizes: number[]
  /**
   * Each record's timestamp minus the previous record's (the first's minus
   * 0: ms since the epoch). Without it, the time the bridge received the frame.
   */
  timestampDeltas?: number[]
  /**
   * Only to a bridge that lists `produce-columns-headers`. An object: the
   * same headers on every record; an array: one entry per record, null for
   * a record without headers. Without it no record has headers.
   */
  headers?: RecordHeaders | (RecordHeaders | null)[]
}

/** A produce frame carries either `records` or, in a binary frame, `columns`. */
export type ProduceFrame = {
  type: 'produce'
  /** Optional client label echoed in errors about this frame. */
  id?: string
} & ({ records: ProduceRecord[]; columns?: never } | { columns: ProduceColumns; records?: never })

/** How many records a produce frame carries. */
export function produceCount(frame: ProduceFrame): number {
  return frame.records ? frame.records.length : frame.columns.sizes.length
}

export interface TokenFrame {
  type: 'token'
  token: string
}

export interface PingFrame {
  type: 'ping'
  t?: number
}

/** What became of a model version on the device (docs/models.md, fleet events). */
export type ModelStatusState = 'activated' | 'rejected' | 'rolled-back'

/**
 * A device reports what it did with a model version: activated it, rejected
 * it (signature, sha256, version, golden vectors; `reason` says which), or
 * rolled it back after probation. `running` lists every model it now runs.
 * The bridge writes it to edge.fleet; nothing is sent back unless it is invalid.
 */
export interface ModelStatusFrame {
  type: 'model-status'
  name: string
  version: number
  state: ModelStatusState
  reason?: string
  running?: Record<string, number>
}

export type ClientFrame =
  | HelloFrame
  | ProduceFrame
  | TokenFrame
  | PingFrame
  | ModelStatusFrame
  | SubscribeFrame
  | RecordsAckFrame
  | ReplyFrame

export interface SessionLimits {
  maxBatchRecords: number
  maxFrameBytes: number
  maxRecordBytes: number
  /** Most records and bytes a device may have sent and not yet seen acked. */
  credits: { records: number; bytes: number }
  /** Sustained records per second, and the burst above it. */
  ratePerSec: number
  burst: number
  /** The bridge pings this often; a client that hears nothing for twice as long may reconnect. */
  heartbeatMs: number
}

/**
 * Additions to protocol v1 a bridge accepts, named in `welcome.features`: a
 * client uses one only with a bridge that lists it (an older bridge refuses
 * it as E_BAD_FRAME).
 */
export const Features = {
  /** `columns` in binary produce frames (§6.3). */
  PRODUCE_COLUMNS: 'produce-columns',
  /** `headers` in those `columns` (§6.3). */
  PRODUCE_COLUMNS_HEADERS: 'produce-columns-headers',
} as const

export interface WelcomeFrame {
  type: 'welcome'
  version: 1
  deviceId: string
  sessionId: string
  /** The additions to v1 this bridge accepts; absent from bridges older than the first one. */
  features?: string[]
  /** Highest sequence number already committed to Kafka for this device; 0 when none. */
  watermark: number
  limits: SessionLimits
  /** Expiry of the token in use, ms since the epoch. */
  tokenExpiresAt: number
}

/** A run of consecutive sequence numbers written to consecutive offsets of one partition. */
export interface AckRange {
  from: number
  to: number
  topic?: string
  partition?: number
  /** Offset of the record with seq `from`; `from + i` sits at `offset + i`. */
  offset?: number
  /** True when Kafka already held these records (a resend); no offsets are given. */
  duplicate?: boolean
}

export interface AckFrame {
  type: 'ack'
  ranges: AckRange[]
  /** Highest committed sequence number after this ack. */
  watermark: number
}

export interface ErrorFrame {
  type: 'error'
  code: ErrorCode
  message: string
  /** The produce frame's id, when the error is about one. */
  id?: string
  seq?: number
  /** Whether sending the same thing later can succeed. */
  retryable: boolean
  retryAfterMs?: number
  /** Highest committed sequence number, when known. */
  watermark?: number
  /** The seq the bridge expects next from this device: resend from here after a rejected frame. */
  nextSeq?: number
}

export interface PongFrame {
  type: 'pong'
  t?: number
}

export interface TokenAcceptedFrame {
  type: 'token-accepted'
  tokenExpiresAt: number
}

/**
 * The version of a model this device should run changed (a publish, a
 * promotion, an abort), or the session just started. The bytes never travel
 * in the socket: fetch `manifestUrl` (relative to the bridge's HTTP base URL)
 * with If-None-Match: etag, then the files it lists.
 */
export interface ModelFrame {
  type: 'model'
  name: string
  version: number
  manifestUrl: string
  etag: string
}

export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | ErrorFrame
  | PongFrame
  | TokenAcceptedFrame
  | ModelFrame
  | SubscribedFrame
  | RecordsFrame

/**
 * Binary produce frame: [uint32 big-endian header length][header: UTF-8 JSON ProduceFrame][payload].
 * Records with encoding "binary" take `value` bytes of the payload, in record
 * order; with `columns`, each record takes its `sizes` entry.
 */
export function encodeBinaryProduce(frame: ProduceFrame, payloads: Uint8Array[]): Uint8Array {
  return encodeBinaryFrame(JSON.stringify(frame), payloads)
}

/** The same message from the header's JSON text, for a sender that builds that text itself. */
export function encodeBinaryFrame(headerJson: string, payloads: Uint8Array[]): Uint8Array {
  const header = new TextEncoder().encode(headerJson)
  const total = 4 + header.length + payloads.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(total)
  new DataView(out.buffer).setUint32(0, header.length)
  out.set(header, 4)
  let at = 4 + header.length
  for (const p of payloads) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * The reverse of encodeBinaryProduce: the header and each "binary" record's
 * payload (every record's, with `columns`), in record order. Throws on a
 * malformed message; it does not check the header against the schema (the
 * bridge does).
 */
export function decodeBinaryProduce(bytes: Uint8Array): { frame: ProduceFrame; payloads: Uint8Array[] } {
  if (bytes.length < 4) throw new Error('a binary frame starts with a 4-byte header length')
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  if (4 + headerLength > bytes.length) throw new Error(`header length ${headerLength} exceeds the frame`)
  const frame = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as ProduceFrame
  const sizes = frame.records
    ? frame.records.flatMap((record) => (record.encoding === 'binary' ? [record.value as number] : []))
    : frame.columns.sizes
  const payloads: Uint8Array[] = []
  let at = 4 + headerLength
  for (const size of sizes) {
    payloads.push(bytes.subarray(at, at + size))
    at += size
  }
  if (at !== bytes.length) throw new Error(`${bytes.length - at} payload bytes no record claims`)
  return { frame, payloads }
}
