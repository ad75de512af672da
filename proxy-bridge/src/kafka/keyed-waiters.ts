/**
 * Callers waiting for a value that a log reader will see under a key (a
 * claim id, a correlation id): `wait` parks one per key until `settle` hands
 * it the value or its timeout passes.
 */
export class KeyedWaiters<T> {
  readonly #waiters = new Map<string, (value: T) => void>()

  /** Resolves with the value settled under `key`, or with `onTimeout()` after timeoutMs. */
  wait(key: string, timeoutMs: number, onTimeout: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key)
        try {
          resolve(onTimeout())
        } catch (error) {
          reject(error)
        }
      }, timeoutMs)
      this.#waiters.set(key, (value) => {
        clearTimeout(timer)
        this.#waiters.delete(key)
        resolve(value)
      })
    })
  }

  settle(key: string, value: T): void {
    this.#waiters.get(key)?.(value)
  }
}
