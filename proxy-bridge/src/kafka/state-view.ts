import { randomUUID } from 'node:crypto'
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  MessagesStreamModes,
  type MessagesStream,
} from '@platformatic/kafka'
import { decodeState, isClaimKey } from './device-state.ts'

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>

/**
 * Every bridge reads the whole compacted device-state topic (read_committed)
 * into memory: the watermark of each device, and the claims bridges write
 * when they take a device over. No bridge holds state that another cannot
 * rebuild from Kafka.
 */
export class DeviceStateView {
  readonly #watermarks = new Map<string, number>()
  readonly #claimWaiters = new Map<string, () => void>()
  readonly #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  readonly #topic: string
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined

  constructor(brokers: string[], clientId: string, topic: string) {
    this.#topic = topic
    // A group of its own per bridge process: every instance must see every partition.
    this.#consumer = new Consumer({
      clientId: `${clientId}-state`,
      groupId: `${clientId}-state-${randomUUID()}`,
      bootstrapBrokers: brokers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 50,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
    })
  }

  get devices(): number {
    return this.#watermarks.size
  }

  async start(): Promise<void> {
    const stream = await this.#consumer.consume({
      topics: [this.#topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    })
    this.#stream = stream
    stream.on('data', (message: RawMessage) => this.#apply(message))
    stream.on('error', () => {
      // The stream retries on its own; readiness reports a broken Kafka connection.
    })
  }

  #apply(message: RawMessage): void {
    const key = message.key?.toString('utf8')
    if (!key) return
    const value = decodeState(message.value)
    if (!value) return
    if (isClaimKey(key)) {
      if ('claim' in value) this.#claimWaiters.get(value.claim)?.()
      return
    }
    if ('watermark' in value) {
      const current = this.#watermarks.get(key) ?? 0
      // Compaction may replay an older value only before a newer one; never move backwards.
      if (value.watermark > current) this.#watermarks.set(key, value.watermark)
    }
  }

  /** Highest committed sequence number seen for the device; 0 when none. May lag Kafka by a fetch. */
  watermark(deviceId: string): number {
    return this.#watermarks.get(deviceId) ?? 0
  }

  /**
   * Resolves once the claim record has been read: everything committed before
   * it has been applied. Call before producing the claim.
   */
  expectClaim(claim: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#claimWaiters.delete(claim)
        reject(new Error(`device-state claim ${claim} not read back within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#claimWaiters.set(claim, () => {
        clearTimeout(timer)
        this.#claimWaiters.delete(claim)
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    const stream = this.#stream
    if (stream) await new Promise<void>((resolve) => stream.close(() => resolve()))
    await new Promise<void>((resolve) => this.#consumer.close(true, () => resolve()))
  }
}
