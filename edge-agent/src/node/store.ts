/**
 * The ModelStore on a local file system. Every mutation is durable when it
 * resolves: data is fsynced before a rename publishes it, and the parent
 * folder is fsynced after, so a power cut leaves either the old or the new
 * file, never a torn one.
 */

import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { syncDir, writeFileAtomic } from './durable-file.ts'
import { AgentError } from '../core/errors.ts'
import type { AppendHandle, ModelStore } from '../core/ports.ts'

function storeError(op: string, path: string, e: unknown): AgentError {
  return new AgentError('E_STORE', `${op} ${path}: ${(e as Error).message}`)
}

export class NodeModelStore implements ModelStore {
  readonly root: string
  constructor(root: string) {
    this.root = resolve(root)
  }

  #path(path: string): string {
    const full = resolve(this.root, path)
    if (full !== this.root && !full.startsWith(this.root + sep))
      throw new AgentError('E_STORE', `path ${path} escapes the store`)
    return full
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.#path(path)))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR')
        return undefined
      throw storeError('read', path, e)
    }
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    const full = this.#path(path)
    try {
      await mkdir(dirname(full), { recursive: true })
      await writeFileAtomic(full, data, `${full}.tmp-${randomBytes(4).toString('hex')}`)
    } catch (e) {
      throw storeError('write', path, e)
    }
  }

  async size(path: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(path))).size
    } catch {
      return undefined
    }
  }

  async append(path: string): Promise<AppendHandle> {
    const full = this.#path(path)
    try {
      await mkdir(dirname(full), { recursive: true })
      const handle = await open(full, 'a')
      return {
        write: async (chunk) => {
          await handle.write(chunk)
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      }
    } catch (e) {
      throw storeError('append', path, e)
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const target = this.#path(to)
    try {
      await mkdir(dirname(target), { recursive: true })
      await rename(this.#path(from), target)
      await syncDir(dirname(target))
      await syncDir(dirname(this.#path(from)))
    } catch (e) {
      throw storeError('rename', `${from} -> ${to}`, e)
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(this.#path(dir))).filter((name) => !name.includes('.tmp-')).sort()
    } catch {
      return []
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await rm(this.#path(path), { recursive: true, force: true })
    } catch (e) {
      throw storeError('remove', path, e)
    }
  }

  /** Removes temporaries a crash left behind (never published, so never needed). */
  async sweepTemporaries(dir = ''): Promise<void> {
    const base = this.#path(dir)
    let entries: import('node:fs').Dirent[]
    try {
      entries = await readdir(base, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.name.includes('.tmp-')) await rm(join(base, entry.name), { force: true, recursive: true })
      else if (entry.isDirectory()) await this.sweepTemporaries(join(dir, entry.name))
    }
  }
}
