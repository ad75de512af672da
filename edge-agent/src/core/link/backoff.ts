// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
// the n-th retry waits uniform(0, min(cap, base * 2^n)), so a fleet that lost
// its bridge at once does not come back at once.

export interface BackoffOptions {
  baseMs: number
  capMs: number
}

export const backoffDefaults: BackoffOptions = { baseMs: 500, capMs: 30_000 }

export class Backoff {
  readonly #options: BackoffOptions
  readonly #random: () => number
  #attempt = 0

  constructor(options: BackoffOptions = backoffDefaults, random: () => number = Math.random) {
    this.#options = options
    this.#random = random
  }

  /** The delay before the next attempt; each call doubles the ceiling up to the cap. */
  next(): number {
    const ceiling = Math.min(this.#options.capMs, this.#options.baseMs * 2 ** Math.min(this.#attempt, 30))
    this.#attempt++
    return Math.floor(this.#random() * ceiling)
  }

  get attempt(): number {
    return this.#attempt
  }

  reset(): void {
    this.#attempt = 0
  }
}
