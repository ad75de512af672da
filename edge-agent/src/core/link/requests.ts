// Request/reply (docs/protocol.md §16): a delivered record with a correlation
// id asks the device for something; a handler registered for its type answers
// and the answer goes back as a `reply` frame. Built in: `predict`.
import {
  type DeliveredRecord,
  type ReplyFrame,
  RequestHeaders,
  type RequestRecord,
} from '../../protocol/delivery-v1.ts'
import { decodeBase64 } from '../base64.ts'
import { AgentError, toAgentError } from '../errors.ts'
import { plain } from '../outbox/predictions.ts'

export type Request = RequestRecord['request']

export interface RequestContext {
  correlationId: string
  record: DeliveredRecord
}

/** Answers one request type; what it resolves to is the reply's `result`, what it throws its `error`. */
export type RequestHandler = (request: Request, context: RequestContext) => unknown | Promise<unknown>

/** Why a request record was not answered: it expired, or it is unreadable and has no correlation id to answer. */
export type Unanswered = { skipped: 'expired' | 'invalid'; correlationId: string; reason?: string }

/** A reply to send, and the request type it answers ('' when unreadable). */
export interface Answered {
  reply: ReplyFrame
  type: string
}

/** Replies remembered per correlation id, so a redelivered request is answered the same way without running again. */
const REMEMBERED_REPLIES = 1000
const MAX_MESSAGE = 4096

function reply(correlationId: string, error: { code: string; message: string }): ReplyFrame {
  return {
    type: 'reply',
    correlationId,
    ok: false,
    error: { code: error.code.slice(0, 64), message: error.message.slice(0, MAX_MESSAGE) },
  }
}

function recordText(record: DeliveredRecord): string | undefined {
  if (record.value === null) return undefined
  if (record.encoding === 'text') return record.value
  const bytes = decodeBase64(record.value)
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes)
}

function parseRequest(record: DeliveredRecord): RequestRecord | AgentError {
  const text = recordText(record)
  let value: unknown
  try {
    value = text === undefined ? undefined : JSON.parse(text)
  } catch {
    return new AgentError('E_REQUEST_INVALID', 'the request record is not JSON')
  }
  const r = value as Partial<RequestRecord> | undefined
  if (typeof r !== 'object' || r === null) return new AgentError('E_REQUEST_INVALID', 'the request is not an object')
  if (typeof r.correlationId !== 'string' || r.correlationId === '')
    return new AgentError('E_REQUEST_INVALID', 'the request has no "correlationId"')
  if (typeof r.expiresAt !== 'number') return new AgentError('E_REQUEST_INVALID', 'the request has no "expiresAt"')
  const request = r.request as Request | undefined
  if (typeof request !== 'object' || request === null || typeof request.type !== 'string')
    return new AgentError('E_REQUEST_INVALID', 'the request has no "request": {"type": ...}')
  return r as RequestRecord
}

/** The request handlers of one agent, by request type. */
export class RequestHandlers {
  readonly #handlers = new Map<string, RequestHandler>()
  readonly #answered = new Map<string, ReplyFrame>()

  /** Registers (or replaces) the handler of a request type; returns the function that removes it. */
  register(type: string, handler: RequestHandler): () => void {
    this.#handlers.set(type, handler)
    return () => {
      if (this.#handlers.get(type) === handler) this.#handlers.delete(type)
    }
  }

  get types(): string[] {
    return [...this.#handlers.keys()]
  }

  /** True when the record is a request (it carries a correlation id header). */
  static isRequest(record: DeliveredRecord): boolean {
    return record.headers[RequestHeaders.CORRELATION_ID] !== undefined
  }

  /**
   * The reply to a request record, or why there is none (it expired). A
   * request that cannot be read is answered with E_REQUEST_INVALID under the
   * header's correlation id.
   */
  async answer(record: DeliveredRecord, now: number): Promise<Answered | Unanswered> {
    const headerId = record.headers[RequestHeaders.CORRELATION_ID] ?? ''
    const parsed = parseRequest(record)
    if (parsed instanceof AgentError) {
      if (headerId === '') return { skipped: 'invalid', correlationId: '', reason: parsed.detail }
      return { reply: reply(headerId, parsed.toJSON()), type: '' }
    }
    const { correlationId } = parsed
    const type = parsed.request.type
    if (parsed.expiresAt <= now) return { skipped: 'expired', correlationId }
    const remembered = this.#answered.get(correlationId)
    if (remembered) return { reply: remembered, type }
    const handler = this.#handlers.get(type)
    let answer: ReplyFrame
    if (handler === undefined) {
      const error = new AgentError(
        'E_REQUEST_TYPE_UNKNOWN',
        `no handler for request type "${type}" (this agent answers: ${this.types.join(', ') || 'none'})`,
      )
      answer = reply(correlationId, error.toJSON())
    } else {
      try {
        const result = await handler(parsed.request, { correlationId, record })
        answer = { type: 'reply', correlationId, ok: true, result: plain(result) ?? null }
      } catch (e) {
        answer = reply(correlationId, toAgentError(e).toJSON())
      }
    }
    this.#answered.set(correlationId, answer)
    if (this.#answered.size > REMEMBERED_REPLIES) {
      const oldest = this.#answered.keys().next().value
      if (oldest !== undefined) this.#answered.delete(oldest)
    }
    return { reply: answer, type }
  }
}

/** What the built-in `predict` handler needs from the agent. */
export interface Predictor {
  predict(input: unknown): Promise<unknown>
  readonly current: { name: string } | undefined
}

/** `{type: 'predict', model?, input}` → the agent's prediction `{outputs, model, latencyMs}`. */
export function predictHandler(agent: Predictor): RequestHandler {
  return async (request) => {
    if (!('input' in request)) throw new AgentError('E_INPUT_INVALID', 'a predict request needs "input"')
    const model = request.model
    if (model !== undefined && model !== agent.current?.name)
      throw new AgentError(
        'E_MODEL_NOT_RUNNING',
        `this device runs ${agent.current ? `"${agent.current.name}"` : 'no model'}, not ${JSON.stringify(model)}`,
      )
    return agent.predict(request.input)
  }
}
