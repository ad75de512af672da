import type { LogReader, LogRecord } from './log-reader.ts'

/**
 * Follows partitions of one topic from given offsets, for as long as it runs,
 * handing each batch of committed records to `onRecords` in offset order.
 * It keeps its exact positions, so a follower can hand over at an offset.
 */
export class PartitionTail {
  readonly positions = new Map<number, bigint>()
  readonly #reader: LogReader
  readonly #topic: string
  readonly #onRecords: (records: LogRecord[]) => void
  readonly #onError: (error: unknown) => void
  #running = false
  #loop: Promise<void> | undefined
  #fetchWaiters: (() => void)[] = []

  constructor(
    reader: LogReader,
    topic: string,
    from: Map<number, bigint>,
    onRecords: (records: LogRecord[]) => void,
    onError: (error: unknown) => void = () => {},
  ) {
    this.#reader = reader
    this.#topic = topic
    for (const [partition, offset] of from) this.positions.set(partition, offset)
    this.#onRecords = onRecords
    this.#onError = onError
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#loop = this.#run()
  }

  async #run(): Promise<void> {
    let backoff = 100
    while (this.#running) {
      try {
        const results = await this.#reader.fetch(this.#topic, this.positions, { maxWaitMs: 100 })
        if (!this.#running) break
        for (const [partition, result] of results) {
          this.positions.set(partition, result.nextOffset)
          if (result.records.length > 0) this.#onRecords(result.records)
        }
        backoff = 100
      } catch (error) {
        this.#onError(error)
        await new Promise((r) => setTimeout(r, backoff))
        backoff = Math.min(backoff * 2, 5000)
      }
      for (const resolve of this.#fetchWaiters.splice(0)) resolve()
    }
    for (const resolve of this.#fetchWaiters.splice(0)) resolve()
  }

  /** Resolves after the next fetch (or failed attempt) is done and `positions` updated, or once stopped. */
  fetched(): Promise<void> {
    if (!this.#running) return Promise.resolve()
    return new Promise((resolve) => this.#fetchWaiters.push(resolve))
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#loop
  }
}
