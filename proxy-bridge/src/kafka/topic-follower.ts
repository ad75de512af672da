import { LogReader, type LogRecord } from './log-reader.ts'
import { PartitionTail, type PartitionTailOptions } from './partition-tail.ts'

/**
 * Reads a whole topic from the start (read_committed, aborted transactions
 * dropped) and follows it, with no consumer group: every process sees every
 * partition and no group is left behind. `caughtUp()` resolves once every
 * record committed before it was called has been handed to `onMessage`.
 */
export class TopicFollower {
  readonly #reader: LogReader
  readonly #topic: string
  readonly #onMessage: (message: LogRecord) => void
  readonly #tailOptions: PartitionTailOptions
  #tail: PartitionTail | undefined
  #closed = false

  constructor(
    brokers: string[],
    clientId: string,
    topic: string,
    onMessage: (message: LogRecord) => void,
    tailOptions: PartitionTailOptions = {},
  ) {
    this.#topic = topic
    this.#onMessage = onMessage
    this.#tailOptions = tailOptions
    this.#reader = new LogReader(brokers, clientId)
  }

  async start(): Promise<void> {
    const partitions = await this.#reader.partitions(this.#topic)
    const from = new Map(Array.from({ length: partitions }, (_, p) => [p, 0n] as const))
    this.#tail = new PartitionTail(
      this.#reader,
      this.#topic,
      from,
      (records) => {
        for (const record of records) this.#onMessage(record)
      },
      undefined,
      this.#tailOptions,
    )
    this.#tail.start()
  }

  /** See PartitionTail.hurry; a no-op before `start`. */
  hurry(): () => void {
    return this.#tail?.hurry() ?? (() => {})
  }

  /** Resolves once everything committed to the topic before this call has been read; rejects after timeoutMs. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const release = this.hurry()
    try {
      await this.#catchUp(timeoutMs)
    } finally {
      release()
    }
  }

  async #catchUp(timeoutMs: number): Promise<void> {
    const ends = await this.#reader.endOffsets(this.#topic)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const tail = this.#tail
      if (tail && ends.every((end, p) => (tail.positions.get(p) ?? 0n) >= end)) return
      if (this.#closed) throw new Error(`${this.#topic}: closed while catching up`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.#topic}: not caught up within ${timeoutMs} ms`)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        tail ? tail.fetched() : new Promise((r) => setTimeout(r, 20)),
        new Promise((r) => {
          timer = setTimeout(r, left)
        }),
      ])
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#tail?.stop()
    await this.#reader.close()
  }
}
