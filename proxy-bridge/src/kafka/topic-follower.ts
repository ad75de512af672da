import { randomUUID } from 'node:crypto'
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  type MessagesStream,
  MessagesStreamModes,
} from '@platformatic/kafka'

export type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>

/**
 * Reads a whole topic from the earliest offset (read_committed) and follows
 * it, in a consumer group of its own so that every process sees every
 * partition (the DeviceStateView pattern). `caughtUp()` resolves once every
 * record committed before it was called has been handed to `onMessage`.
 */
export class TopicFollower {
  readonly #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  readonly #topic: string
  readonly #onMessage: (message: RawMessage) => void
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #closed = false

  constructor(brokers: string[], clientId: string, topic: string, onMessage: (message: RawMessage) => void) {
    this.#topic = topic
    this.#onMessage = onMessage
    this.#consumer = new Consumer({
      clientId,
      groupId: `${clientId}-${randomUUID()}`,
      bootstrapBrokers: brokers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxBytes: 8 * 1024 * 1024,
    })
  }

  async start(): Promise<void> {
    const stream = await this.#consumer.consume({
      topics: [this.#topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    })
    this.#stream = stream
    stream.on('data', (message: RawMessage) => this.#onMessage(message))
    stream.on('error', () => {
      // The stream retries on its own; /readyz reports a broken Kafka connection.
    })
  }

  /** Resolves once everything committed to the topic before this call has been read. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const ends = await this.#consumer.listOffsets({
      topics: [this.#topic],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    const targets = ends.get(this.#topic) ?? []
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const fetched = this.#stream?.offsetsToFetch
      const behind = targets.some(
        (end, partition) => end > 0n && (fetched?.get(`${this.#topic}:${partition}`) ?? 0n) < end,
      )
      if (!behind) break
      if (this.#closed) throw new Error(`${this.#topic}: closed while catching up`)
      if (Date.now() > deadline) throw new Error(`${this.#topic}: not caught up within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 20))
    }
    // Records of the last fetch are pushed to the stream before its offsets move; let them drain.
    await new Promise((r) => setImmediate(r))
  }

  async close(): Promise<void> {
    this.#closed = true
    const stream = this.#stream
    if (stream) await new Promise<void>((resolve) => stream.close(() => resolve()))
    await new Promise<void>((resolve) => this.#consumer.close(true, () => resolve()))
  }
}
