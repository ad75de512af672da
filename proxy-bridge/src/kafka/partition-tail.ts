import type { LogReader, LogRecord } from './log-reader.ts'

/** How a tail fetches while records keep coming: each fetch waits for `minBytes`, or `maxWaitMs` at most. */
export interface BatchedFetch {
  maxWaitMs: number
  minBytes: number
}

export interface PartitionTailOptions {
  /**
   * Unset, every fetch returns as soon as anything is committed: a busy topic
   * then costs a fetch per transaction (hundreds a second), each a request
   * the broker serves and a wakeup of this process. Set, the tail gathers
   * records this way while the previous fetch found some, and goes back to
   * returning at once when the topic goes quiet or someone `hurry`s it.
   */
  batched?: BatchedFetch
}

// An idle tail's long poll: returns at once when something is committed.
const idleFetch = { maxWaitMs: 100, minBytes: 1 }

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
  readonly #batched: BatchedFetch | undefined
  /** The last fetch found records: the next one may gather. */
  #busy = false
  #hurried = 0

  constructor(
    reader: LogReader,
    topic: string,
    from: Map<number, bigint>,
    onRecords: (records: LogRecord[]) => void,
    onError: (error: unknown) => void = () => {},
    options: PartitionTailOptions = {},
  ) {
    this.#reader = reader
    this.#topic = topic
    for (const [partition, offset] of from) this.positions.set(partition, offset)
    this.#onRecords = onRecords
    this.#onError = onError
    this.#batched = options.batched
  }

  /**
   * Someone waits for the next records: fetches return as soon as anything
   * is committed until the returned function is called. A batched fetch
   * already in flight still runs its course (at most `batched.maxWaitMs`).
   */
  hurry(): () => void {
    this.#hurried++
    let done = false
    return () => {
      if (done) return
      done = true
      this.#hurried--
    }
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
        const pace = this.#batched && this.#busy && this.#hurried === 0 ? this.#batched : idleFetch
        const results = await this.#reader.fetch(this.#topic, this.positions, pace)
        if (!this.#running) break
        this.#busy = false
        for (const [partition, result] of results) {
          this.positions.set(partition, result.nextOffset)
          if (result.records.length === 0) continue
          this.#busy = true
          this.#onRecords(result.records)
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
