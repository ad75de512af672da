// Kafka → device (docs/protocol.md §15): subscribes after every welcome,
// hands each delivered record to its handlers in order, answers requests, and
// acks a frame's records only once they were handled, so a crash or a lost
// connection means redelivery (at least once), never a lost command.
import type { DeliveredRecord, RecordsFrame } from '../../protocol/delivery-v1.ts'
import { toAgentError } from '../errors.ts'
import { Emitter } from '../outbox/emitter.ts'
import type { Clock } from '../ports.ts'
import type { Link } from './link.ts'
import { RequestHandlers } from './requests.ts'

/** Handles a plain (non-request) record; a failure is reported and the record still acked. */
export type RecordHandler = (record: DeliveredRecord) => void | Promise<void>

export interface DeliveriesOptions {
  link: Pick<Link, 'onFrame' | 'send' | 'on'>
  /** Topics to subscribe to after each welcome (the commands topic, typically). */
  topics: string[]
  requests: RequestHandlers
  clock: Pick<Clock, 'now'>
}

export interface DeliveriesStats {
  topics: string[]
  subscribed: boolean
  records: number
  requests: { answered: number; failed: number; expired: number; invalid: number }
  handlerErrors: number
  /** The last position acked per `topic/partition`. */
  acked: Record<string, number>
}

export interface DeliveriesEvents {
  subscribed: { topics: string[] }
  record: { topic: string; partition: number; offset: number; key: string | null }
  request: { correlationId: string; type: string; ok: boolean; code?: string; ms: number }
  'request-skipped': { correlationId: string; reason: 'expired' | 'invalid'; detail?: string }
  'handler-error': { topic: string; partition: number; offset: number; code: string; message: string }
}

export class Deliveries extends Emitter<DeliveriesEvents> {
  readonly #o: DeliveriesOptions
  readonly #handlers = new Set<RecordHandler>()
  readonly #off: (() => void)[] = []
  #queue: Promise<void> = Promise.resolve()
  #subscribed = false
  readonly #stats = {
    records: 0,
    requests: { answered: 0, failed: 0, expired: 0, invalid: 0 },
    handlerErrors: 0,
    acked: {} as Record<string, number>,
  }

  constructor(options: DeliveriesOptions) {
    super()
    this.#o = options
  }

  get requests(): RequestHandlers {
    return this.#o.requests
  }

  /** Calls `handler` for every delivered record that is not a request; returns the unsubscribe function. */
  onRecord(handler: RecordHandler): () => void {
    this.#handlers.add(handler)
    return () => this.#handlers.delete(handler)
  }

  start(): void {
    const { link, topics } = this.#o
    this.#off.push(
      link.on('online', () => {
        this.#subscribed = false
        // The bridge continues after the position last acked (kept in Kafka).
        if (topics.length > 0) link.send({ type: 'subscribe', topics })
      }),
      link.on('offline', () => {
        this.#subscribed = false
      }),
      link.onFrame('subscribed', (frame) => {
        this.#subscribed = true
        this.emit('subscribed', { topics: frame.topics })
      }),
      link.onFrame('records', (frame) => {
        this.#queue = this.#queue.then(() => this.#process(frame))
      }),
    )
  }

  /** Stops taking frames; resolves when the records being handled are done. */
  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off()
    await this.#queue
  }

  stats(): DeliveriesStats {
    return {
      topics: this.#o.topics,
      subscribed: this.#subscribed,
      ...this.#stats,
      requests: { ...this.#stats.requests },
      acked: { ...this.#stats.acked },
    }
  }

  async #process(frame: RecordsFrame): Promise<void> {
    const positions = new Map<string, { topic: string; partition: number; offset: number }>()
    for (const record of frame.records) {
      // A reply that could not go out (offline): stop acking; the bridge delivers the rest again.
      if (!(await this.#handle(record))) break
      positions.set(`${record.topic}/${record.partition}`, {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      })
    }
    if (positions.size === 0) return
    if (this.#o.link.send({ type: 'records-ack', positions: [...positions.values()] })) {
      for (const [key, p] of positions) this.#stats.acked[key] = p.offset
    }
  }

  /** Handles one record; false when its reply could not be sent. */
  async #handle(record: DeliveredRecord): Promise<boolean> {
    this.#stats.records++
    this.emit('record', { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key })
    if (RequestHandlers.isRequest(record)) {
      const started = this.#o.clock.now()
      const answer = await this.#o.requests.answer(record, started)
      if ('skipped' in answer) {
        this.#stats.requests[answer.skipped]++
        this.emit('request-skipped', {
          correlationId: answer.correlationId,
          reason: answer.skipped,
          ...(answer.reason !== undefined ? { detail: answer.reason } : {}),
        })
        return true
      }
      const { reply, type } = answer
      if (!this.#o.link.send(reply)) return false
      this.#stats.requests[reply.ok ? 'answered' : 'failed']++
      this.emit('request', {
        correlationId: reply.correlationId,
        type,
        ok: reply.ok,
        ...(reply.error ? { code: reply.error.code } : {}),
        ms: this.#o.clock.now() - started,
      })
      return true
    }
    for (const handler of this.#handlers) {
      try {
        await handler(record)
      } catch (e) {
        const error = toAgentError(e)
        this.#stats.handlerErrors++
        this.emit('handler-error', {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          code: error.code,
          message: error.message,
        })
      }
    }
    return true
  }
}
