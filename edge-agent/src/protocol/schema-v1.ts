import { recordsAckSchema, recordsSchema, replySchema, subscribedSchema, subscribeSchema } from './delivery-v1.ts'

// JSON Schemas (draft-07) for every frame of protocol v1. The bridge validates
// client frames with them; docs/protocol-v1.schema.json is generated from here.

const deviceHeaders = {
  type: 'object',
  maxProperties: 32,
  propertyNames: { type: 'string', minLength: 1, maxLength: 128 },
  additionalProperties: { type: 'string', maxLength: 4096 },
} as const

const seq = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const
const topicName = { type: 'string', minLength: 1, maxLength: 249, pattern: '^[a-zA-Z0-9._-]+$' } as const

const produceRecord = {
  type: 'object',
  required: ['seq', 'value'],
  additionalProperties: false,
  properties: {
    seq,
    topic: topicName,
    value: {},
    encoding: { enum: ['json', 'text', 'base64', 'binary'] },
    headers: deviceHeaders,
    timestamp: { type: 'integer', minimum: 0 },
  },
} as const

const hello = {
  $id: 'hello',
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { const: 'hello' },
    token: { type: 'string', minLength: 1, maxLength: 8192 },
    agent: {
      type: 'object',
      required: ['name', 'version'],
      additionalProperties: false,
      properties: { name: { type: 'string', maxLength: 64 }, version: { type: 'string', maxLength: 64 } },
    },
    exact: { type: 'boolean' },
  },
} as const

// The headers of columns: one object for every record, or one entry per record
// (null: none). Each is a record's `headers`, so both forms refuse what
// records[].headers refuses. if/else rather than oneOf/anyOf: the bridge then
// reports the failing entry's own error, not "must match a schema in anyOf".
const columnsHeaders = {
  if: { type: 'array' },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
  then: { type: 'array', minItems: 1, items: { if: { type: 'null' }, else: deviceHeaders } },
  else: deviceHeaders,
} as const

// Records of one topic described column by column (§6.3): a binary frame's
// header then costs a few bytes per record, not ~60.
const produceColumns = {
  type: 'object',
  required: ['seq', 'sizes'],
  additionalProperties: false,
  properties: {
    seq,
    topic: topicName,
    sizes: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
    timestampDeltas: { type: 'array', minItems: 1, items: { type: 'integer' } },
    headers: columnsHeaders,
  },
} as const

const produce = {
  $id: 'produce',
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { const: 'produce' },
    id: { type: 'string', maxLength: 128 },
    records: { type: 'array', minItems: 1, items: produceRecord },
    columns: produceColumns,
  },
  // One or the other. Each branch names its property's type again, because a
  // strict validator (ajv's strictRequired) wants what it requires defined beside it.
  oneOf: [
    { required: ['records'], properties: { records: { type: 'array' } } },
    { required: ['columns'], properties: { columns: { type: 'object' } } },
  ],
} as const

const token = {
  $id: 'token',
  type: 'object',
  required: ['type', 'token'],
  additionalProperties: false,
  properties: { type: { const: 'token' }, token: { type: 'string', minLength: 1, maxLength: 8192 } },
} as const

const ping = {
  $id: 'ping',
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: { type: { const: 'ping' }, t: { type: 'number' } },
} as const

const modelName = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[a-z0-9][a-z0-9._-]*$' } as const
const modelVersion = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const

const modelStatus = {
  $id: 'model-status',
  type: 'object',
  required: ['type', 'name', 'version', 'state'],
  additionalProperties: false,
  properties: {
    type: { const: 'model-status' },
    name: modelName,
    version: modelVersion,
    state: { enum: ['activated', 'rejected', 'rolled-back'] },
    reason: { type: 'string', maxLength: 1024 },
    running: {
      type: 'object',
      maxProperties: 64,
      propertyNames: modelName,
      additionalProperties: modelVersion,
    },
  },
} as const

const limits = {
  type: 'object',
  required: ['maxBatchRecords', 'maxFrameBytes', 'maxRecordBytes', 'credits', 'ratePerSec', 'burst', 'heartbeatMs'],
  properties: {
    maxBatchRecords: { type: 'integer' },
    maxFrameBytes: { type: 'integer' },
    maxRecordBytes: { type: 'integer' },
    credits: {
      type: 'object',
      required: ['records', 'bytes'],
      properties: { records: { type: 'integer' }, bytes: { type: 'integer' } },
    },
    ratePerSec: { type: 'number' },
    burst: { type: 'number' },
    heartbeatMs: { type: 'integer' },
  },
} as const

const welcome = {
  $id: 'welcome',
  type: 'object',
  required: ['type', 'version', 'deviceId', 'sessionId', 'watermark', 'limits', 'tokenExpiresAt'],
  properties: {
    type: { const: 'welcome' },
    version: { const: 1 },
    deviceId: { type: 'string' },
    sessionId: { type: 'string' },
    watermark: { type: 'integer', minimum: 0 },
    limits,
    tokenExpiresAt: { type: 'integer' },
    features: { type: 'array', items: { type: 'string' } },
  },
} as const

const ack = {
  $id: 'ack',
  type: 'object',
  required: ['type', 'ranges', 'watermark'],
  properties: {
    type: { const: 'ack' },
    watermark: { type: 'integer', minimum: 0 },
    ranges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['from', 'to'],
        properties: {
          from: { type: 'integer' },
          to: { type: 'integer' },
          topic: { type: 'string' },
          partition: { type: 'integer' },
          offset: { type: 'integer' },
          duplicate: { type: 'boolean' },
        },
      },
    },
  },
} as const

const error = {
  $id: 'error',
  type: 'object',
  required: ['type', 'code', 'message', 'retryable'],
  properties: {
    type: { const: 'error' },
    code: { type: 'string', pattern: '^E_[A-Z_]+$' },
    message: { type: 'string' },
    id: { type: 'string' },
    seq: { type: 'integer' },
    retryable: { type: 'boolean' },
    retryAfterMs: { type: 'integer' },
    watermark: { type: 'integer' },
    nextSeq: { type: 'integer' },
  },
} as const

const pong = {
  $id: 'pong',
  type: 'object',
  required: ['type'],
  properties: { type: { const: 'pong' }, t: { type: 'number' } },
} as const

const tokenAccepted = {
  $id: 'token-accepted',
  type: 'object',
  required: ['type', 'tokenExpiresAt'],
  properties: { type: { const: 'token-accepted' }, tokenExpiresAt: { type: 'integer' } },
} as const

const model = {
  $id: 'model',
  type: 'object',
  required: ['type', 'name', 'version', 'manifestUrl', 'etag'],
  properties: {
    type: { const: 'model' },
    name: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    manifestUrl: { type: 'string' },
    etag: { type: 'string' },
  },
} as const

/** Client → bridge frames by type. */
export const clientFrameSchemaV1 = {
  hello,
  produce,
  token,
  ping,
  'model-status': modelStatus,
  subscribe: subscribeSchema,
  'records-ack': recordsAckSchema,
  reply: replySchema,
} as const
/** Bridge → client frames by type. */
export const serverFrameSchemaV1 = {
  welcome,
  ack,
  error,
  pong,
  'token-accepted': tokenAccepted,
  model,
  subscribed: subscribedSchema,
  records: recordsSchema,
} as const

/** The whole protocol as one document: docs/protocol-v1.schema.json. */
export const frameSchemasV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://kafka-edge.dev/schemas/protocol-v1.json',
  title: 'kafka-edge WebSocket protocol v1 (subprotocol kafka-edge.v1)',
  definitions: {
    client: clientFrameSchemaV1,
    server: serverFrameSchemaV1,
  },
} as const
