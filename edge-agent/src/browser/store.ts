/// <reference lib="dom" />
/**
 * The ModelStore in IndexedDB (through idb): one object store of files keyed
 * by path. Each mutation is one transaction with strict durability, so a
 * rename of a folder (all keys under it) is atomic as the core needs.
 *
 * A file being appended to (a download) takes each sync as one more part,
 * keyed `<path>\0<n>`, instead of rewriting all it holds: a download writes
 * its bytes once per sync, not once per sync for every byte before. Closing
 * the append joins the parts back into one value; read and size count parts
 * a crash left behind.
 */

import { type IDBPDatabase, openDB } from 'idb'
import { AgentError } from '../core/errors.ts'
import type { AppendHandle, ModelStore } from '../core/ports.ts'

const FILES = 'files'
const STRICT = { durability: 'strict' } as const

const under = (dir: string) => IDBKeyRange.bound(`${dir}/`, `${dir}/\uffff`)
const PART = '\u0000'
const partsOf = (path: string) => IDBKeyRange.bound(`${path}${PART}`, `${path}${PART}\uffff`)
const partKey = (path: string, n: number) => `${path}${PART}${String(n).padStart(10, '0')}`

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export class IndexedDbModelStore implements ModelStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name = 'kafka-edge-agent'): Promise<IndexedDbModelStore> {
    try {
      const db = await openDB(name, 1, {
        upgrade(d) {
          d.createObjectStore(FILES)
        },
      })
      // Ask the browser not to evict the models under storage pressure.
      await globalThis.navigator?.storage?.persist?.().catch(() => false)
      return new IndexedDbModelStore(db)
    } catch (e) {
      throw new AgentError('E_STORE', `IndexedDB ${name}: ${(e as Error).message}`)
    }
  }

  /** The file as stored: its first write, then the parts appended since; undefined when there is no file. */
  async #chunks(path: string): Promise<Uint8Array[] | undefined> {
    const tx = this.db.transaction(FILES)
    const whole = (await tx.store.get(path)) as Uint8Array | undefined
    if (whole === undefined) return undefined
    return [whole, ...((await tx.store.getAll(partsOf(path))) as Uint8Array[])]
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const chunks = await this.#chunks(path)
    return chunks && (chunks.length === 1 ? chunks[0] : concat(chunks))
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    const tx = this.db.transaction(FILES, 'readwrite', STRICT)
    await tx.store.put(data.slice(), path)
    await tx.done
  }

  async size(path: string): Promise<number | undefined> {
    return (await this.#chunks(path))?.reduce((n, chunk) => n + chunk.length, 0)
  }

  async append(path: string): Promise<AppendHandle> {
    let pending: Uint8Array[] = []
    const sync = async () => {
      if (pending.length === 0) return
      const tx = this.db.transaction(FILES, 'readwrite', STRICT)
      const key = (await tx.store.count(path)) === 0 ? path : partKey(path, (await tx.store.count(partsOf(path))) + 1)
      await tx.store.put(concat(pending), key)
      await tx.done
      pending = []
    }
    const close = async () => {
      const tx = this.db.transaction(FILES, 'readwrite', STRICT)
      if (pending.length > 0 || (await tx.store.count(partsOf(path))) > 0) {
        const whole = ((await tx.store.get(path)) as Uint8Array | undefined) ?? new Uint8Array()
        const parts = (await tx.store.getAll(partsOf(path))) as Uint8Array[]
        await tx.store.put(concat([whole, ...parts, ...pending]), path)
        await tx.store.delete(partsOf(path))
      }
      await tx.done
      pending = []
    }
    return {
      write: async (chunk) => {
        pending.push(chunk.slice())
      },
      sync,
      close,
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const tx = this.db.transaction(FILES, 'readwrite', STRICT)
    const single = (await tx.store.get(from)) as Uint8Array | undefined
    if (single !== undefined) {
      await tx.store.put(single, to)
      await tx.store.delete(from)
    }
    // A file's parts, or everything under a folder (its files' parts too).
    let cursor = await tx.store.openCursor(single !== undefined ? partsOf(from) : under(from))
    while (cursor) {
      await tx.store.put(cursor.value, `${to}${String(cursor.key).slice(from.length)}`)
      await cursor.delete()
      cursor = await cursor.continue()
    }
    await tx.done
  }

  async list(dir: string): Promise<string[]> {
    // A file's parts go with its first key, which is always there.
    const keys = ((await this.db.getAllKeys(FILES, under(dir))) as string[]).filter((k) => !k.includes(PART))
    return [...new Set(keys.map((k) => k.slice(dir.length + 1).split('/')[0] as string))].sort()
  }

  async remove(path: string): Promise<void> {
    const tx = this.db.transaction(FILES, 'readwrite', STRICT)
    await tx.store.delete(path)
    await tx.store.delete(partsOf(path))
    await tx.store.delete(under(path))
    await tx.done
  }
}
