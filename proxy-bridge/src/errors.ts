import type { ErrorCode } from '@kafka-edge/edge-agent/protocol'

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
  E_HELLO_REQUIRED: 400,
  E_CREDITS_EXCEEDED: 429,
  E_RATE_LIMITED: 429,
  E_KAFKA_UNAVAILABLE: 503,
  E_SESSION_REPLACED: 409,
  E_SUBPROTOCOL: 400,
  E_SHUTTING_DOWN: 503,
  E_INTERNAL: 500,
}
