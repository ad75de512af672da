import type { FastifyReply } from 'fastify'
import { asBridgeError, BridgeError, httpStatusOf } from '../errors.ts'
import { errorBody } from './reports.ts'

/**
 * Answers a failed request with `{error_code, message, code}` (plus `extra`),
 * the HTTP status of its code, `WWW-Authenticate` on 401 and `Retry-After`
 * when the error says when to retry. Failures that are not a BridgeError are
 * logged: they are the bridge's fault, not the client's.
 */
export function replyError(reply: FastifyReply, error: unknown, extra: Record<string, unknown> = {}): FastifyReply {
  const bridgeError = asBridgeError(error)
  if (!(error instanceof BridgeError) && bridgeError.code === 'E_INTERNAL') {
    reply.log.error({ err: error, url: reply.request.url }, 'request failed')
  }
  const status = httpStatusOf[bridgeError.code]
  if (status === 401) reply.header('www-authenticate', 'Bearer')
  if (bridgeError.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(bridgeError.retryAfterMs / 1000))
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send({ ...errorBody(bridgeError), ...extra })
}
