// Walks one segment file's frames in lsn order, reading it in chunks: the
// log's reads and the search for the oldest record both go through it, so
// both agree on where a frame is and on when the framing is lost.
import { FRAME_HEADER_BYTES, type FrameRead, frameLengthAt, readFrame } from '../../core/outbox/frame.ts'
import { readAt, type Segment } from './segment.ts'

/** A frame's place: its lsn, and its byte offset in its segment file. */
export interface FramePosition {
  segment: number
  lsn: number
  offset: number
}

export class FrameWalker {
  readonly #segment: Segment
  #lsn: number
  #chunk: Uint8Array
  #chunkAt: number
  #at = 0
  // Whether the chunk was read from where the current frame starts: still short then, the file is.
  #refilled = false

  private constructor(segment: Segment, start: FramePosition, chunk: Uint8Array) {
    this.#segment = segment
    this.#lsn = start.lsn
    this.#chunkAt = start.offset
    this.#chunk = chunk
  }

  /** Starts at `start` (a position in this segment), or at the segment's first frame. */
  static async open(segment: Segment, start: FramePosition | undefined, chunkBytes: number): Promise<FrameWalker> {
    const from =
      start?.segment === segment.firstLsn ? start : { segment: segment.firstLsn, lsn: segment.firstLsn, offset: 0 }
    return new FrameWalker(segment, from, await readAt(segment.path, from.offset, chunkBytes))
  }

  get lsn(): number {
    return this.#lsn
  }

  get position(): FramePosition {
    return { segment: this.#segment.firstLsn, lsn: this.#lsn, offset: this.#chunkAt + this.#at }
  }

  /**
   * The current frame's length, reading on as far as it needs; `unframed`
   * when no frame can be found here: a damaged length field runs past the
   * segment's end, or the file is shorter than was written. From then on, no
   * later frame of the segment can be found either.
   */
  async frame(): Promise<number | 'unframed'> {
    for (;;) {
      const length = frameLengthAt(this.#chunk, this.#at)
      if (length !== undefined && this.#at + length <= this.#chunk.length) return length
      const need = length ?? FRAME_HEADER_BYTES
      if (this.#refilled || this.#chunkAt + this.#at + need > this.#segment.size) return 'unframed'
      await this.#refill(need)
    }
  }

  /** Reads on from the current frame, at least as much as it needs (never the size of a damaged length). */
  async #refill(need: number): Promise<void> {
    this.#chunkAt += this.#at
    this.#at = 0
    this.#chunk = await readAt(this.#segment.path, this.#chunkAt, Math.max(need, 256 * 1024))
    this.#refilled = true
  }

  /** The current frame, checked (CRC); call after frame() gave a length. */
  read(): FrameRead {
    return readFrame(this.#chunk, this.#at)
  }

  /** On to the next frame, past the current one of `length` bytes. */
  skip(length: number): void {
    this.#at += length
    this.#lsn++
    this.#refilled = false
  }
}
