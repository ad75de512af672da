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
 *
 * A round that takes longer than `patienceMs` (a coordinator that keeps
 * answering CONCURRENT_TRANSACTIONS, a broker that does not answer: up to
 * ~13 s of retries) no longer holds up the claims that came after it: they
 * start the next round alongside it.
 */
export class Fencer {
  readonly #fenceOne: FenceOne
  readonly #onRound: ((ids: number) => void) | undefined
  readonly #patienceMs: number
  #next: Waiter[] = []
  #running = false

  /** `onRound` hears how many ids each round fenced: for metrics. */
  constructor(fenceOne: FenceOne, options: { onRound?: (ids: number) => void; patienceMs?: number } = {}) {
    this.#fenceOne = fenceOne
    this.#onRound = options.onRound
    this.#patienceMs = options.patienceMs ?? defaultPatienceMs
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
      const round = this.#round(this.#next.splice(0))
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([round, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#patienceMs)))])
      clearTimeout(timer)
    }
    this.#running = false
  }

  /** Fences the union of the waiters' ids, each once; settles every waiter; never rejects. */
  async #round(waiters: Waiter[]): Promise<void> {
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
}

/** Well above a healthy round (tens of ms; ~0.6 s for 40 claims at once), well below a stuck one's retries. */
const defaultPatienceMs = 2000
