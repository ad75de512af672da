import { type ErrorCode, ErrorCodes } from '@kafka-edge/edge-agent/protocol'

/** An error a client caused or can act on: it travels as a code and a message, never as a crash. */
export class BridgeError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; retryAfterMs?: number } = {}) {
    super(message)
    this.code = code
    this.retryable = options.retryable ?? false
    this.retryAfterMs = options.retryAfterMs
  }
}

/** HTTP status for each error code on the REST side. */
export const httpStatusOf: Record<ErrorCode, number> = {
  E_BAD_FRAME: 400,
  E_UNKNOWN_FRAME_TYPE: 400,
  E_FRAME_TOO_LARGE: 413,
  E_BATCH_TOO_LARGE: 413,
  E_RECORD_TOO_LARGE: 413,
  E_VALUE_INVALID: 400,
  E_SEQ_BACKWARDS: 409,
  E_SEQ_GAP: 409,
  E_TOPIC_DENIED: 403,
  E_TOPIC_UNKNOWN: 404,
  E_AUTH_REQUIRED: 401,
  E_TOKEN_INVALID: 401,
  E_TOKEN_EXPIRED: 401,
  E_TOKEN_DEVICE_MISMATCH: 403,
  E_TOKEN_REFRESH_REFUSED: 401,
  E_HELLO_REQUIRED: 400,
  E_CREDITS_EXCEEDED: 429,
  E_RATE_LIMITED: 429,
  E_KAFKA_UNAVAILABLE: 503,
  E_SESSION_REPLACED: 409,
  E_SUBPROTOCOL: 400,
  E_SHUTTING_DOWN: 503,
  E_INTERNAL: 500,
  E_FORBIDDEN: 403,
  E_REQUEST_TIMEOUT: 504,
  E_REQUEST_UNKNOWN: 404,
  E_BAD_REQUEST: 400,
  E_BODY_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_CLUSTER_UNKNOWN: 404,
  E_IDEMPOTENCY_KEY_REUSED: 422,
  E_MODEL_UNKNOWN: 404,
  E_MODEL_VERSION_NOT_NEWER: 409,
  E_MODEL_MANIFEST_INVALID: 422,
  E_SIGNATURE_INVALID: 422,
  E_SIGNING_KEY_UNKNOWN: 422,
  E_MODEL_FILE_MISSING: 404,
  E_MODEL_FILE_UNVERIFIED: 409,
  E_PATH_INVALID: 400,
  E_RANGE_NOT_SATISFIABLE: 416,
  E_MODEL_NOT_LOADABLE: 503,
  E_INPUT_INVALID: 400,
  E_FEATURE_MISSING: 400,
  E_FEATURE_UNKNOWN: 400,
  E_FEATURE_TYPE: 400,
  E_FEATURE_SHAPE: 400,
  E_INPUT_NAN: 400,
  E_OUTPUT_NONFINITE: 422,
  E_INFERENCE: 500,
}

/**
 * Any failure as a BridgeError: fastify's own (body too large, wrong media
 * type, bad JSON) keep their meaning; anything else is E_INTERNAL, and the
 * caller logs it.
 */
export function asBridgeError(error: unknown): BridgeError {
  if (error instanceof BridgeError) return error
  const fastify = error as { code?: unknown; statusCode?: number; message?: string }
  if (typeof fastify.code === 'string' && fastify.code.startsWith('FST_')) {
    if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return new BridgeError(ErrorCodes.BODY_TOO_LARGE, String(fastify.message))
    if (fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return new BridgeError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json')
    if (fastify.statusCode !== undefined && fastify.statusCode < 500)
      return new BridgeError(ErrorCodes.BAD_REQUEST, String(fastify.message))
  }
  return new BridgeError(ErrorCodes.INTERNAL, 'the bridge failed to handle this request; it has been logged')
}
