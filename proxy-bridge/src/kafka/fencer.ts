/** Fences one transactional id: InitProducerId, which aborts what its holder left open. */
export type FenceOne = (transactionalId: string) => Promise<void>

interface Waiter {
  ids: readonly string[]
  resolve(): void
  reject(error: unknown): void
}

/**
 * Fences transactional ids for claims, in rounds. A fence only counts for a
 * claim if it came after the claim was read back: the fenced lane must see
 * the claim when it recovers, or it would go on writing the device. So a
 * call never joins a round already under way; it waits for the next one,
 * and each round fences every id asked for since the last began, once.
 *
 * When a bridge dies, its devices reconnect to the others within seconds and
 * every one of them claims, naming the same few owners: one round fences for
 * all the claims that came in while the previous round ran, instead of one
 * InitProducerId (and one producer's connections) per claim and owner.
 */
export class Fencer {
  readonly #fenceOne: FenceOne
  readonly #onRound: ((ids: number) => void) | undefined
  #next: Waiter[] = []
  #running = false

  /** `onRound` hears how many ids each round fenced: for metrics. */
  constructor(fenceOne: FenceOne, onRound?: (ids: number) => void) {
    this.#fenceOne = fenceOne
    this.#onRound = onRound
  }

  /** Resolves once every id has been fenced by a round that began after this call. */
  fence(transactionalIds: readonly string[]): Promise<void> {
    if (transactionalIds.length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.#next.push({ ids: transactionalIds, resolve, reject })
      if (!this.#running) void this.#run()
    })
  }

  async #run(): Promise<void> {
    this.#running = true
    while (this.#next.length > 0) {
      const waiters = this.#next
      this.#next = []
      const ids = new Set(waiters.flatMap((w) => w.ids))
      this.#onRound?.(ids.size)
      const failures = new Map<string, unknown>()
      await Promise.all(
        [...ids].map((id) =>
          this.#fenceOne(id).catch((error: unknown) => {
            failures.set(id, error)
          }),
        ),
      )
      for (const waiter of waiters) {
        const failed = waiter.ids.find((id) => failures.has(id))
        if (failed === undefined) waiter.resolve()
        else waiter.reject(failures.get(failed))
      }
    }
    this.#running = false
  }
}
