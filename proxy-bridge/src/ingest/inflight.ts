/**
 * Bytes of produce frames admitted and not yet acked, across every device of
 * this bridge. Per-device credits bound one device; this bounds them all: over
 * the limit, sockets that send stop being read (TCP pushes back on the
 * devices) until the total falls under half of it.
 */
export class BridgeInflight {
  bytes = 0
  readonly #maxBytes: number
  readonly #waiting = new Set<() => void>()

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Counts the bytes; true when the bridge is now over its limit and the caller should pause. */
  add(bytes: number): boolean {
    this.bytes += bytes
    return this.bytes > this.#maxBytes
  }

  remove(bytes: number): void {
    this.bytes -= bytes
    if (this.#waiting.size > 0 && this.bytes <= this.#maxBytes / 2) {
      const resumes = [...this.#waiting]
      this.#waiting.clear()
      for (const resume of resumes) resume()
    }
  }

  /** Calls `resume` once the total is under half the limit. */
  whenDrained(resume: () => void): void {
    if (this.bytes <= this.#maxBytes / 2) resume()
    else this.#waiting.add(resume)
  }
}
