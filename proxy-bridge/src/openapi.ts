import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI 3.1 document of every HTTP endpoint the bridge serves, served
 * at /openapi.json. Hand-written so it can describe what route schemas
 * cannot (the WebSocket upgrade, streamed bodies); a test checks it lists
 * every route. A new endpoint adds its path here.
 */

const json = (schema: object) => ({ 'application/json': { schema } })
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) })

const produceErrors = {
  '400': errorResponse('E_BAD_REQUEST, E_VALUE_INVALID: the body or a record is malformed'),
  '401': errorResponse('E_AUTH_REQUIRED, E_TOKEN_INVALID, E_TOKEN_EXPIRED'),
  '403': errorResponse('E_TOPIC_DENIED: the topic is not in the token'),
  '404': errorResponse('E_TOPIC_UNKNOWN (v3 also E_CLUSTER_UNKNOWN)'),
  '409': errorResponse('E_SESSION_REPLACED: another bridge took the device over mid-request; retry'),
  '413': errorResponse('E_BODY_TOO_LARGE, E_RECORD_TOO_LARGE, E_BATCH_TOO_LARGE'),
  '415': errorResponse('E_UNSUPPORTED_MEDIA_TYPE'),
  '422': errorResponse('E_IDEMPOTENCY_KEY_REUSED: the key was used for another topic'),
  '503': errorResponse('E_KAFKA_UNAVAILABLE, E_SHUTTING_DOWN: retry with backoff (Retry-After)'),
}

const authAndIdempotency = [
  {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes the request exactly-once: a retry with the same key (to any bridge, within exactlyOnce.idempotencyTtlMs) is answered with the original offsets and writes nothing. 1-255 printable ASCII characters.',
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  },
]

const topicParam = { name: 'topic', in: 'path', required: true, schema: { type: 'string' } }

const data = {
  type: 'object',
  properties: {
    type: { enum: ['JSON', 'BINARY', 'STRING'], default: 'JSON' },
    data: { description: 'JSON: any JSON value; BINARY: standard base64; STRING: a string' },
  },
  required: ['data'],
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'kafka-edge proxy-bridge',
    version: '1',
    description:
      'Fronts Kafka for edge devices. Records are keyed by the device id of the bearer token (JWT, HS256 or EdDSA). See docs/rest.md and docs/protocol.md.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error_code: { type: 'integer', description: 'HTTP status' },
          message: { type: 'string' },
          code: { enum: Object.values(ErrorCodes) },
        },
        required: ['error_code', 'message', 'code'],
      },
      V3Record: {
        type: 'object',
        properties: {
          key: {
            ...data,
            description: 'Ignored as the Kafka key (the device id is); kept in header kafka-edge.client-key',
          },
          value: data,
          headers: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, value: { type: ['string', 'null'], contentEncoding: 'base64' } },
              required: ['name'],
            },
          },
          timestamp: { type: 'string', format: 'date-time' },
          partition_id: { type: 'null', description: 'Refused: records go to the partition of the device key' },
        },
        required: ['value'],
      },
      DeliveryReport: {
        type: 'object',
        properties: {
          error_code: { const: 200 },
          cluster_id: { type: 'string' },
          topic_name: { type: 'string' },
          partition_id: { type: 'integer' },
          offset: { type: 'integer' },
          timestamp: { type: 'string', format: 'date-time' },
          key: { type: 'object', properties: { type: { const: 'BINARY' }, size: { type: 'integer' } } },
          value: { type: 'object', properties: { type: { type: 'string' }, size: { type: 'integer' } } },
        },
      },
      V2Request: {
        type: 'object',
        properties: {
          records: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              properties: {
                key: { description: 'Ignored as the Kafka key; kept in header kafka-edge.client-key' },
                value: { description: 'json: any JSON value; binary: standard base64' },
              },
              required: ['value'],
            },
          },
        },
        required: ['records'],
      },
      V2Response: {
        type: 'object',
        properties: {
          key_schema_id: { type: 'null' },
          value_schema_id: { type: 'null' },
          offsets: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                partition: { type: 'integer' },
                offset: { type: 'integer' },
                error_code: { type: 'null' },
                error: { type: 'null' },
              },
            },
          },
        },
      },
    },
  },
  paths: {
    '/healthz': {
      get: {
        summary: 'Liveness: 200 while the process runs',
        responses: { '200': { description: 'alive', content: json({ type: 'object' }) } },
      },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: Kafka reachable and every topic exists',
        responses: {
          '200': { description: 'ready', content: json({ type: 'object' }) },
          '503': { description: 'not ready or draining', content: json({ type: 'object' }) },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'text exposition format', content: { 'text/plain': {} } } },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
      },
    },
    '/v1/ws': {
      get: {
        summary: 'WebSocket upgrade (subprotocol kafka-edge.v1)',
        description:
          'Upgrade with Sec-WebSocket-Protocol: kafka-edge.v1 and the token in Authorization (or in the hello frame). Frames, acks, flow control and exactly-once resume are specified in docs/protocol.md and its JSON Schema. Refused upgrades answer with an Error body.',
        security: [{ bearer: [] }, {}],
        responses: {
          '101': { description: 'Switching Protocols' },
          '400': errorResponse('E_SUBPROTOCOL'),
          '401': errorResponse('E_TOKEN_INVALID, E_TOKEN_EXPIRED'),
          '503': errorResponse('E_KAFKA_UNAVAILABLE, E_SHUTTING_DOWN'),
        },
      },
    },
    '/v1/devices/{id}/requests': {
      post: {
        summary: 'Ask a device for something (request/reply through Kafka)',
        description:
          'Writes a request record with a correlation id to the commands topic and waits for the device reply (docs/protocol.md §16). Needs a token whose groups include "operators". Prefer: respond-async answers 202 at once.',
        security: [{ bearer: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['request'],
            properties: {
              request: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
              timeoutMs: { type: 'integer', minimum: 1, maximum: 120000 },
            },
          }),
        },
        responses: {
          '200': {
            description: 'The reply: {correlationId, deviceId, ok, result | error}',
            content: json({ type: 'object' }),
          },
          '202': { description: 'Accepted; poll the Location', content: json({ type: 'object' }) },
          '401': errorResponse('E_AUTH_REQUIRED, E_TOKEN_INVALID, E_TOKEN_EXPIRED'),
          '403': errorResponse('E_FORBIDDEN'),
          '504': errorResponse('E_REQUEST_TIMEOUT'),
        },
      },
    },
    '/v1/requests/{correlationId}': {
      get: {
        summary: 'The reply to a request sent with Prefer: respond-async',
        security: [{ bearer: [] }],
        parameters: [{ name: 'correlationId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The reply', content: json({ type: 'object' }) },
          '202': { description: 'Still pending', content: json({ type: 'object' }) },
          '404': errorResponse('E_REQUEST_UNKNOWN'),
        },
      },
    },
    '/v3/clusters/{cluster_id}/topics/{topic}/records': {
      post: {
        summary: 'Produce records (Confluent REST Proxy v3 compatible)',
        description:
          'One record, or many concatenated JSON records streamed with Transfer-Encoding: chunked; the streamed answer is one delivery report per record, in order, newline-separated, each with its own error_code. A body with Content-Length and one record is answered with that record’s status.',
        security: [{ bearer: [] }],
        parameters: [
          { name: 'cluster_id', in: 'path', required: true, schema: { type: 'string' } },
          topicParam,
          ...authAndIdempotency,
        ],
        requestBody: { required: true, content: json(ref('V3Record')) },
        responses: {
          '200': {
            description: 'Delivery report(s); in streaming mode failed records have {error_code, message, code}',
            content: json({ oneOf: [ref('DeliveryReport'), ref('Error')] }),
          },
          ...produceErrors,
        },
      },
    },
    '/topics/{topic}': {
      post: {
        summary: 'Produce records (Confluent REST Proxy v2 compatible)',
        description: 'All records are written in one Kafka transaction, or none.',
        security: [{ bearer: [] }],
        parameters: [topicParam, ...authAndIdempotency],
        requestBody: {
          required: true,
          content: {
            'application/vnd.kafka.json.v2+json': { schema: ref('V2Request') },
            'application/vnd.kafka.binary.v2+json': { schema: ref('V2Request') },
          },
        },
        responses: {
          '200': {
            description: 'Offsets, in request order',
            content: { 'application/vnd.kafka.v2+json': { schema: ref('V2Response') } },
          },
          ...produceErrors,
        },
      },
    },
  },
} as const

export function openApiRoutes(app: FastifyInstance): void {
  app.get('/openapi.json', async () => openApiDocument)
}
