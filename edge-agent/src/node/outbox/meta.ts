// meta.json: the outbox's sequence bookkeeping, replaced atomically
// (write a temporary file, fsync it, rename it over, fsync the directory).
// MetaWriter decides when: a new numbering at once, releases batched.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../durable-file.ts'
import type { SeqState } from '../../core/outbox/seq-space.ts'

const FILE = 'meta.json'

export async function readMeta(dir: string): Promise<Partial<SeqState> | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as { version?: number } & Partial<SeqState>
    return parsed.version === 1 ? parsed : undefined
  } catch {
    return undefined
  }
}

export async function writeMeta(dir: string, state: SeqState): Promise<void> {
  await writeFileAtomic(join(dir, FILE), JSON.stringify({ version: 1, ...state }))
}

/** Writes meta.json one write at a time, each with the state as it is when asked for. */
export class MetaWriter {
  readonly #dir: string
  readonly #snapshot: () => SeqState
  #dirty = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #write: Promise<void> = Promise.resolve()

  constructor(dir: string, snapshot: () => SeqState) {
    this.#dir = dir
    this.#snapshot = snapshot
  }

  /** Writes within 200 ms, with whatever else changed by then. */
  schedule(): void {
    this.#dirty = true
    if (this.#timer) return
    // Acks are cheap to lose (the records are resent and acked as duplicates): batch them.
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.writeNow().catch(() => {})
    }, 200)
    this.#timer.unref?.()
  }

  writeNow(): Promise<void> {
    // A write now covers whatever the batched one was waiting to write.
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#dirty = false
    const snapshot = this.#snapshot()
    this.#write = this.#write.catch(() => {}).then(() => writeMeta(this.#dir, snapshot))
    return this.#write
  }

  /** Writes what is still batched and waits for every write; failures are not reported. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#dirty) await this.writeNow().catch(() => {})
    await this.#write.catch(() => {})
  }
}
