import { KeyedWaiters } from '../kafka/keyed-waiters.ts'
import type { LogReader } from '../kafka/log-reader.ts'
import { PartitionTail } from '../kafka/partition-tail.ts'

export interface ReplyValue {
  correlationId: string
  deviceId: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string }
  at: number
}

/**
 * Every bridge follows the replies topic: whichever bridge a device answered
 * through, the bridge holding the HTTP request sees the reply. Recent replies
 * are kept for `keepMs`, for callers that asked not to wait.
 */
export class ReplyTail {
  readonly #waiters = new KeyedWaiters<ReplyValue | undefined>()
  readonly #recent = new Map<string, ReplyValue>()
  readonly #keepMs: number
  #tail: PartitionTail | undefined

  constructor(keepMs: number) {
    this.#keepMs = keepMs
  }

  async start(reader: LogReader, topic: string): Promise<void> {
    const ends = await reader.endOffsets(topic)
    this.#tail = new PartitionTail(reader, topic, new Map(ends.map((o, p) => [p, o])), (records) => {
      for (const record of records) {
        try {
          const reply = JSON.parse(record.value?.toString('utf8') ?? '') as ReplyValue
          if (typeof reply.correlationId === 'string') this.#settle(reply)
        } catch {
          // Not ours: the replies topic may be shared.
        }
      }
    })
    this.#tail.start()
  }

  #settle(reply: ReplyValue): void {
    this.#recent.set(reply.correlationId, reply)
    const oldest = Date.now() - this.#keepMs
    for (const [id, r] of this.#recent) {
      if (r.at >= oldest) break
      this.#recent.delete(id)
    }
    this.#waiters.settle(reply.correlationId, reply)
  }

  recent(correlationId: string): ReplyValue | undefined {
    return this.#recent.get(correlationId)
  }

  /** Resolves with the reply, or undefined after timeoutMs. */
  wait(correlationId: string, timeoutMs: number): Promise<ReplyValue | undefined> {
    const known = this.#recent.get(correlationId)
    if (known) return Promise.resolve(known)
    return this.#waiters.wait(correlationId, timeoutMs, () => undefined)
  }

  async stop(): Promise<void> {
    await this.#tail?.stop()
  }
}
