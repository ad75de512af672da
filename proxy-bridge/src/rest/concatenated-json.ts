/** One top-level value of a Concatenated JSON stream. */
export type JsonSegment =
  | { kind: 'object'; bytes: Buffer }
  /** An object bigger than the limit: its bytes were dropped as they arrived. */
  | { kind: 'oversized'; size: number }
  /** Something that is not a JSON object at the top level: the stream cannot be resynchronised. */
  | { kind: 'broken'; message: string }

const OPEN = 0x7b // {
const CLOSE = 0x7d // }
const OPEN_ARRAY = 0x5b // [
const CLOSE_ARRAY = 0x5d // ]
const QUOTE = 0x22
const BACKSLASH = 0x5c
const whitespace = new Set([0x20, 0x09, 0x0a, 0x0d])

/**
 * Splits a byte stream of concatenated JSON objects (`{..}{..}`, with or
 * without whitespace or newlines between them) into one segment per object,
 * without parsing them: a record whose content is not valid JSON still ends
 * at its closing brace, so it can be reported on its own and the stream goes
 * on. Memory is bounded by `maxObjectBytes`.
 */
export class ConcatenatedJsonSplitter {
  readonly #maxObjectBytes: number
  #parts: Buffer[] = []
  #size = 0
  #depth = 0
  #inString = false
  #escaped = false
  #oversized = false
  #broken = false

  constructor(maxObjectBytes: number) {
    this.#maxObjectBytes = maxObjectBytes
  }

  /** Segments completed by this chunk, in order. */
  push(chunk: Buffer): JsonSegment[] {
    const out: JsonSegment[] = []
    if (this.#broken) return out
    let start = this.#depth > 0 ? 0 : -1
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number
      if (this.#depth === 0) {
        if (whitespace.has(byte)) continue
        if (byte !== OPEN) {
          this.#broken = true
          out.push({
            kind: 'broken',
            message: `expected a JSON object ("{") at the top level, got ${JSON.stringify(String.fromCharCode(byte))}`,
          })
          return out
        }
        start = i
        this.#depth = 1
        continue
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false
        else if (byte === BACKSLASH) this.#escaped = true
        else if (byte === QUOTE) this.#inString = false
        continue
      }
      if (byte === QUOTE) this.#inString = true
      else if (byte === OPEN || byte === OPEN_ARRAY) this.#depth++
      else if (byte === CLOSE || byte === CLOSE_ARRAY) {
        this.#depth--
        if (this.#depth === 0) {
          this.#take(chunk.subarray(start, i + 1))
          out.push(this.#finish())
          start = -1
        }
      }
    }
    if (this.#depth > 0 && start >= 0) this.#take(chunk.subarray(start))
    return out
  }

  /** Call when the stream ended: a record left open is an error. */
  end(): JsonSegment[] {
    if (this.#broken || this.#depth === 0) return []
    this.#broken = true
    return [{ kind: 'broken', message: 'the body ended inside a record: its JSON is incomplete' }]
  }

  #take(bytes: Buffer): void {
    this.#size += bytes.length
    if (this.#size > this.#maxObjectBytes) {
      this.#oversized = true
      this.#parts = []
      return
    }
    if (!this.#oversized) this.#parts.push(Buffer.from(bytes))
  }

  #finish(): JsonSegment {
    const segment: JsonSegment = this.#oversized
      ? { kind: 'oversized', size: this.#size }
      : { kind: 'object', bytes: Buffer.concat(this.#parts) }
    this.#parts = []
    this.#size = 0
    this.#oversized = false
    this.#inString = false
    this.#escaped = false
    return segment
  }
}
