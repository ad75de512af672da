// Protocol v1, Kafka → device: subscriptions, deliveries, and replies to
// requests (docs/protocol.md §15-16). Part of kafka-edge.v1.

/** Subscribe to topics the token allows (edge.commands always): records keyed by the device id, one of its groups (`group:<name>`), or `*`. */
export interface SubscribeFrame {
  type: 'subscribe'
  topics: string[]
}

/** The device processed every delivered record up to and including `offset` of that partition. */
export interface RecordsAckFrame {
  type: 'records-ack'
  positions: { topic: string; partition: number; offset: number }[]
}

/** The device's answer to a request record (header kafka-edge.correlation-id). */
export interface ReplyFrame {
  type: 'reply'
  correlationId: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
}

export interface DeliveredRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  /** `text`: the value is valid UTF-8, given as a string; `base64` otherwise; `null` for a tombstone. */
  value: string | null
  encoding: 'text' | 'base64'
  headers: Record<string, string>
  timestamp: number
}

export interface SubscribedFrame {
  type: 'subscribed'
  topics: string[]
}

export interface RecordsFrame {
  type: 'records'
  records: DeliveredRecord[]
}

/** Value of a request record on edge.commands (also written by back ends directly, the Kafka-native form). */
export interface RequestRecord {
  correlationId: string
  replyTopic: string
  /** ms since the epoch; a device that sees the request later ignores it. */
  expiresAt: number
  request: { type: string; [field: string]: unknown }
}

export const RequestHeaders = {
  CORRELATION_ID: 'kafka-edge.correlation-id',
  REPLY_TOPIC: 'kafka-edge.reply-topic',
} as const

const topicName = { type: 'string', minLength: 1, maxLength: 249, pattern: '^[a-zA-Z0-9._-]+$' } as const

export const subscribeSchema = {
  $id: 'subscribe',
  type: 'object',
  required: ['type', 'topics'],
  additionalProperties: false,
  properties: {
    type: { const: 'subscribe' },
    topics: { type: 'array', minItems: 1, maxItems: 32, uniqueItems: true, items: topicName },
  },
} as const

export const recordsAckSchema = {
  $id: 'records-ack',
  type: 'object',
  required: ['type', 'positions'],
  additionalProperties: false,
  properties: {
    type: { const: 'records-ack' },
    positions: {
      type: 'array',
      minItems: 1,
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['topic', 'partition', 'offset'],
        additionalProperties: false,
        properties: {
          topic: topicName,
          partition: { type: 'integer', minimum: 0 },
          offset: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
} as const

export const replySchema = {
  $id: 'reply',
  type: 'object',
  required: ['type', 'correlationId', 'ok'],
  additionalProperties: false,
  properties: {
    type: { const: 'reply' },
    correlationId: { type: 'string', minLength: 1, maxLength: 128 },
    ok: { type: 'boolean' },
    result: {},
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', maxLength: 64 }, message: { type: 'string', maxLength: 4096 } },
    },
  },
} as const

export const subscribedSchema = {
  $id: 'subscribed',
  type: 'object',
  required: ['type', 'topics'],
  properties: { type: { const: 'subscribed' }, topics: { type: 'array', items: { type: 'string' } } },
} as const

export const recordsSchema = {
  $id: 'records',
  type: 'object',
  required: ['type', 'records'],
  properties: {
    type: { const: 'records' },
    records: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'partition', 'offset', 'key', 'value', 'encoding', 'headers', 'timestamp'],
        properties: {
          topic: { type: 'string' },
          partition: { type: 'integer' },
          offset: { type: 'integer' },
          key: { type: ['string', 'null'] },
          value: { type: ['string', 'null'] },
          encoding: { enum: ['text', 'base64'] },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
          timestamp: { type: 'integer' },
        },
      },
    },
  },
} as const
