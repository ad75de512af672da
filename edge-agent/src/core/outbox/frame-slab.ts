// Frames carved out of shared 64 KiB slabs instead of one ArrayBuffer each:
// a separate backing store per 250-byte record was most of an append's
// allocation cost. Only for frames that are copied before they are kept
// (the file store writes them out); a store that keeps the view itself must
// not use it: IndexedDB's structured clone would store the whole slab.
const SLAB_BYTES = 64 * 1024
const MAX_SLICE = 4 * 1024

export class FrameSlab {
  #slab = new Uint8Array(SLAB_BYTES)
  #used = 0

  /** `bytes` fresh (zeroed, never handed out before) bytes. */
  readonly alloc = (bytes: number): Uint8Array => {
    if (bytes > MAX_SLICE) return new Uint8Array(bytes)
    if (this.#used + bytes > SLAB_BYTES) {
      this.#slab = new Uint8Array(SLAB_BYTES)
      this.#used = 0
    }
    const out = this.#slab.subarray(this.#used, this.#used + bytes)
    this.#used += bytes
    return out
  }
}
