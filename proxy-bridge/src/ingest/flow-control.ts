/** Token bucket: `ratePerSec` sustained, `burst` at once. */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  #tokens: number
  #at: number

  constructor(ratePerSec: number, burst: number, now = Date.now()) {
    this.#rate = ratePerSec
    this.#burst = burst
    this.#tokens = burst
    this.#at = now
  }

  /** Takes n tokens, or returns how many ms until n would be available. */
  take(n: number, now = Date.now()): { ok: true } | { ok: false; retryAfterMs: number } {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate)
    this.#at = now
    if (n <= this.#tokens) {
      this.#tokens -= n
      return { ok: true }
    }
    return { ok: false, retryAfterMs: Math.ceil(((n - this.#tokens) / this.#rate) * 1000) }
  }
}

/** Records and bytes a device has sent and not yet seen acked: what the bridge holds for it. */
export class Credits {
  records = 0
  bytes = 0
  readonly #maxRecords: number
  readonly #maxBytes: number

  constructor(maxRecords: number, maxBytes: number) {
    this.#maxRecords = maxRecords
    this.#maxBytes = maxBytes
  }

  tryTake(records: number, bytes: number): boolean {
    if (this.records + records > this.#maxRecords || this.bytes + bytes > this.#maxBytes) return false
    this.records += records
    this.bytes += bytes
    return true
  }

  give(records: number, bytes: number): void {
    this.records -= records
    this.bytes -= bytes
  }
}
