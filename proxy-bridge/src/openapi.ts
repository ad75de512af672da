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
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      accessTokenQuery: { type: 'apiKey', in: 'query', name: 'access_token' },
    },
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
    '/v1/topics/{topic}/events': {
      get: {
        summary: "Server-Sent Events of a topic's recent and new committed records",
        description:
          'text/event-stream, read_committed, no consumer group. Each `record` event has `id:` = the resume position (`partition:nextOffset,...`); reconnecting with Last-Event-ID (or ?last_event_id=) resumes exactly there. Without one the stream starts `tail` records before the end of each partition. The token may come as ?access_token= (EventSource cannot set headers; this endpoint only). A client that leaves more than 1 MiB unread is dropped. docs/rest.md, "Topic events".',
        security: [{ bearer: [] }, { accessTokenQuery: [] }],
        parameters: [
          topicParam,
          { name: 'access_token', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'tail', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 1000 } },
          { name: 'last_event_id', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'The event stream', content: { 'text/event-stream': {} } },
          '400': errorResponse('E_BAD_REQUEST: a Last-Event-ID this endpoint did not send'),
          '401': errorResponse('E_AUTH_REQUIRED, E_TOKEN_INVALID, E_TOKEN_EXPIRED'),
          '403': errorResponse('E_TOPIC_DENIED'),
          '404': errorResponse('E_TOPIC_UNKNOWN'),
          '429': errorResponse('E_RATE_LIMITED: too many open streams on this bridge'),
          '503': errorResponse('E_KAFKA_UNAVAILABLE'),
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
    '/v1/models/{name}/predict': {
      post: {
        summary: 'Score inputs with a model in the bridge (server-side scoring)',
        description:
          'Runs the model a device would run, natively (onnxruntime-node), with the same signature, sha256 and golden-vector checks, loaded once per version. Version: ?version=N; else the version assigned to the calling device (its rollout cohort); else, for an operator token, stable. docs/models.md, "Server-side scoring".',
        security: [{ bearer: [] }],
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
        ],
        requestBody: {
          required: true,
          content: json({
            oneOf: [
              {
                type: 'object',
                required: ['input'],
                properties: { input: { type: 'object', description: 'feature name -> number or array of numbers' } },
              },
              {
                type: 'object',
                required: ['inputs'],
                properties: { inputs: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'object' } } },
              },
            ],
          }),
        },
        responses: {
          '200': {
            description:
              '{outputs, model: {name, version}, latencyMs}; outputs are named as on the device (a label, {class: probability}, a number or an array), an array of them for "inputs"',
            content: json({
              type: 'object',
              required: ['outputs', 'model', 'latencyMs'],
              properties: {
                outputs: {},
                model: {
                  type: 'object',
                  properties: { name: { type: 'string' }, version: { type: 'integer' } },
                },
                latencyMs: { type: 'number' },
              },
            }),
          },
          '400': errorResponse(
            'E_BAD_REQUEST, E_INPUT_INVALID, E_FEATURE_MISSING, E_FEATURE_UNKNOWN, E_FEATURE_TYPE, E_FEATURE_SHAPE, E_INPUT_NAN (the message names the input, e.g. inputs[3])',
          ),
          '401': errorResponse('E_AUTH_REQUIRED, E_TOKEN_INVALID, E_TOKEN_EXPIRED'),
          '404': errorResponse('E_MODEL_UNKNOWN: no such model or version, or none assigned yet'),
          '409': errorResponse("E_MODEL_FILE_UNVERIFIED: the bridge has not verified the version's files yet; retry"),
          '413': errorResponse('E_BATCH_TOO_LARGE, E_BODY_TOO_LARGE'),
          '422': errorResponse('E_OUTPUT_NONFINITE: the model produced NaN or Infinity for this input'),
          '500': errorResponse('E_INFERENCE: the model threw on a valid input; the version is marked failed'),
          '503': errorResponse(
            'E_MODEL_NOT_LOADABLE (with "reason": the agent code, e.g. E_GOLDEN_MISMATCH, E_ENGINE_LOAD); E_KAFKA_UNAVAILABLE',
          ),
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
