// setTimeout fires at once for anything longer (~24.8 days): longer waits go in steps.
const maxTimer = 2 ** 31 - 1

/**
 * Calls `onExpired` once the session's token has expired, with the same
 * clock tolerance as at login so a token accepted at hello is not closed at
 * once. A refreshed token reschedules it.
 */
export class TokenExpiry {
  readonly #onExpired: () => void
  readonly #toleranceMs: number
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(onExpired: () => void, toleranceMs: number) {
    this.#onExpired = onExpired
    this.#toleranceMs = toleranceMs
  }

  /** `expiresAt`: epoch ms; replaces any earlier schedule. */
  schedule(expiresAt: number): void {
    this.cancel()
    const due = expiresAt + this.#toleranceMs
    const fire = () => {
      const left = due - Date.now()
      if (left > 0) this.#timer = setTimeout(fire, Math.min(left, maxTimer))
      else this.#onExpired()
    }
    fire()
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
