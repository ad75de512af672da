import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OPERATORS_GROUP } from '../auth/topic-acl.ts'
import { BridgeError } from '../errors.ts'
import { replyError } from '../rest/error-reply.ts'
import type { IngestContext } from '../ingest/context.ts'
import type { ReplyValue } from '../subscriptions/reply-tail.ts'

/** Tokens whose `groups` hold this may send requests to any device. */

const deviceIdPattern = /^[A-Za-z0-9._:@-]{1,128}$/
const maxTimeoutMs = 120_000

interface RequestBody {
  request: { type: string; [field: string]: unknown }
  timeoutMs?: number
}

const bodySchema = {
  type: 'object',
  required: ['request'],
  additionalProperties: false,
  properties: {
    request: {
      type: 'object',
      required: ['type'],
      properties: { type: { type: 'string', minLength: 1, maxLength: 64 } },
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: maxTimeoutMs },
  },
} as const

function answer(reply: ReplyValue) {
  return {
    correlationId: reply.correlationId,
    deviceId: reply.deviceId,
    ok: reply.ok,
    ...(reply.result !== undefined ? { result: reply.result } : {}),
    ...(reply.error ? { error: reply.error } : {}),
  }
}

/**
 * Request/reply with a device through Kafka (docs/protocol.md §16): the
 * request is a record on the commands topic with a correlation id; the answer
 * comes back on the replies topic, through whichever bridge the device uses.
 */
export function requestRoutes(app: FastifyInstance, ingest: () => IngestContext | undefined): void {
  // Requests sent through this bridge and not yet answered, for GET's 202.
  const pending = new Map<string, number>()

  async function operator(request: FastifyRequest): Promise<IngestContext> {
    const ctx = ingest()
    if (!ctx) {
      throw new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'the bridge has not reached Kafka yet', { retryable: true })
    }
    const identity = await ctx.verifier.verifyAuthorization(request.headers.authorization, 'an operator token')
    if (!identity.groups.includes(OPERATORS_GROUP)) {
      throw new BridgeError(
        ErrorCodes.FORBIDDEN,
        `only tokens in group "${OPERATORS_GROUP}" may send requests to devices`,
      )
    }
    return ctx
  }

  app.post<{ Params: { id: string }; Body: RequestBody }>(
    '/v1/devices/:id/requests',
    { schema: { body: bodySchema } },
    async (request, reply) => {
      try {
        const ctx = await operator(request)
        const deviceId = request.params.id
        if (!deviceIdPattern.test(deviceId))
          throw new BridgeError(ErrorCodes.BAD_REQUEST, `"${deviceId}" is not a device id`)
        const timeoutMs = request.body.timeoutMs ?? ctx.config.delivery.requestTimeoutMs
        const correlationId = await ctx.delivery.sendRequest(deviceId, request.body.request, timeoutMs)
        pending.set(correlationId, Date.now() + timeoutMs)
        const location = `/v1/requests/${correlationId}`
        if (/respond-async/i.test(String(request.headers.prefer ?? ''))) {
          return reply.code(202).header('location', location).send({ correlationId, status: 'pending' })
        }
        const answered = await ctx.delivery.replies.wait(correlationId, timeoutMs)
        if (!answered) {
          return reply
            .code(504)
            .header('location', location)
            .send({
              code: ErrorCodes.REQUEST_TIMEOUT,
              message: `device "${deviceId}" did not answer within ${timeoutMs} ms; it gets the request when it reconnects, unless it expired`,
              correlationId,
            })
        }
        pending.delete(correlationId)
        return reply.send(answer(answered))
      } catch (error) {
        return replyError(reply, error)
      }
    },
  )

  app.get<{ Params: { correlationId: string } }>('/v1/requests/:correlationId', async (request, reply) => {
    try {
      const ctx = await operator(request)
      const { correlationId } = request.params
      const answered = ctx.delivery.replies.recent(correlationId)
      if (answered) return reply.send(answer(answered))
      const now = Date.now()
      for (const [id, until] of pending) if (until < now - ctx.config.delivery.replyKeepMs) pending.delete(id)
      if (pending.has(correlationId)) return reply.code(202).send({ correlationId, status: 'pending' })
      throw new BridgeError(ErrorCodes.REQUEST_UNKNOWN, `no request ${correlationId} is pending or answered recently`)
    } catch (error) {
      return replyError(reply, error)
    }
  })
}
