// The client's copy of the bridge's token bucket (welcome.limits.ratePerSec /
// burst), so the link paces itself instead of collecting E_RATE_LIMITED.

export class SendRate {
  readonly #rate: number
  readonly #burst: number
  #tokens: number
  #at: number

  /** Runs a little under the bridge's rate: the two clocks never agree exactly. */
  constructor(ratePerSec: number, burst: number, now: number, margin = 0.95) {
    this.#rate = ratePerSec * margin
    this.#burst = Math.max(1, Math.floor(burst * margin))
    this.#tokens = this.#burst
    this.#at = now
  }

  available(now: number): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate)
    this.#at = now
    return Math.floor(this.#tokens)
  }

  take(n: number): void {
    this.#tokens -= n
  }

  /** Ms until `n` tokens are there. */
  waitFor(n: number, now: number): number {
    const have = this.available(now)
    return have >= n ? 0 : Math.ceil(((n - this.#tokens) / this.#rate) * 1000)
  }
}

/** Records acked per second over a sliding window, for stats. */
export class Throughput {
  readonly #windowMs: number
  #samples: { at: number; n: number }[] = []

  constructor(windowMs = 10_000) {
    this.#windowMs = windowMs
  }

  add(n: number, now: number): void {
    this.#samples.push({ at: now, n })
    this.#trim(now)
  }

  perSec(now: number): number {
    this.#trim(now)
    const total = this.#samples.reduce((sum, s) => sum + s.n, 0)
    return Math.round((total * 1000) / this.#windowMs)
  }

  #trim(now: number): void {
    while (this.#samples.length && (this.#samples[0] as { at: number }).at < now - this.#windowMs) this.#samples.shift()
  }
}
