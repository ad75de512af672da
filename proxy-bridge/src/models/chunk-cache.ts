import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { ManifestFile } from '@kafka-edge/models/manifest'
import type { FastifyBaseLogger } from 'fastify'
import type { LogRecord } from '../kafka/log-reader.ts'
import { TopicFollower } from '../kafka/topic-follower.ts'
import { chunkCount, type ModelState, parseChunkKey } from './model-state.ts'
import type { ModelRegistry } from './registry.ts'

export interface ChunkCacheOptions {
  brokers: string[]
  clientId: string
  topic: string
  /** models.cacheDir: blobs/<sha256> are verified files; partial/<bridge>/ holds chunks in flight. */
  dir: string
  bridgeId: string
  registry: ModelRegistry
  log?: FastifyBaseLogger | undefined
  /** Called once a file of a version is verified and served. */
  onVerified?: (name: string, version: number) => void
}

export type FileStatus = { verified: true; path: string; size: number } | { verified: false; reason: string }

interface PartialFile {
  /** Chunk count announced by the chunks' `chunks` header. */
  count: number
  have: Set<number>
  /** Why the last assembly failed, if it did. */
  rejected?: string
}

const hexSha256 = /^[0-9a-f]{64}$/

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash)
  return hash.digest('hex')
}

function header(message: LogRecord, name: string): string | undefined {
  for (const [key, value] of message.headers ?? []) if (key.toString() === name) return value.toString()
  return undefined
}

/**
 * Materializes edge.model-chunks into a disk cache. Each chunk is checked
 * against its `sha256` header and written under partial/; once a file's
 * chunks are all there and the registry holds its (signed) manifest, they
 * are joined, the whole file is hashed, and only a file whose sha256 and
 * size match the manifest is renamed (atomically) to blobs/<sha256>, the
 * only place files are served from. Blobs are re-hashed at start; an empty
 * cache is rebuilt from Kafka alone. At start, assembly waits until the
 * topic has been read to its end, so the newest value of every chunk key
 * wins, as compaction will eventually make it.
 */
export class ChunkCache {
  readonly #options: ChunkCacheOptions
  readonly #blobsDir: string
  readonly #partialDir: string
  readonly #follower: TopicFollower
  readonly #blobs = new Map<string, number>()
  readonly #partial = new Map<string, PartialFile>()
  /** Work on one file (chunk writes, assembly) runs in order. */
  readonly #chains = new Map<string, Promise<void>>()
  #live = false
  #closed = false
  readonly #onChange = (_name: string, state: ModelState) => {
    if (this.#live) this.#assembleState(state)
  }

  constructor(options: ChunkCacheOptions) {
    this.#options = options
    this.#blobsDir = join(options.dir, 'blobs')
    this.#partialDir = join(options.dir, 'partial', options.bridgeId.replace(/[^A-Za-z0-9._-]/g, '_'))
    this.#follower = new TopicFollower(options.brokers, `${options.clientId}-model-chunks`, options.topic, (m) =>
      this.#onChunk(m),
    )
  }

  async start(): Promise<void> {
    await mkdir(this.#blobsDir, { recursive: true })
    await mkdir(this.#partialDir, { recursive: true })
    await this.#verifyBlobs()
    this.#options.registry.on('change', this.#onChange)
    await this.#follower.start()
    await this.#follower.caughtUp()
    await Promise.all(this.#chains.values())
    this.#live = true
    for (const state of this.#options.registry.all()) this.#assembleState(state)
    await Promise.all(this.#chains.values())
  }

  /** Resolves once chunks committed before this call are read and every file they complete is assembled. */
  async settled(): Promise<void> {
    await this.#follower.caughtUp()
    while (this.#chains.size > 0) await Promise.all(this.#chains.values())
  }

  status(name: string, version: number, file: ManifestFile): FileStatus {
    const size = this.#blobs.get(file.sha256)
    if (size !== undefined && size === file.size) {
      return { verified: true, path: join(this.#blobsDir, file.sha256), size }
    }
    const partial = this.#partial.get(fileKey(name, version, file.path))
    if (partial?.rejected) return { verified: false, reason: partial.rejected }
    if (!this.#live) return { verified: false, reason: 'the bridge is still reading model chunks from Kafka' }
    return {
      verified: false,
      reason: partial ? `${partial.have.size} of ${partial.count} chunks received so far` : 'no chunk received yet',
    }
  }

  async #verifyBlobs(): Promise<void> {
    for (const entry of await readdir(this.#blobsDir)) {
      const path = join(this.#blobsDir, entry)
      if (!hexSha256.test(entry)) continue
      try {
        if ((await sha256OfFile(path)) === entry) {
          this.#blobs.set(entry, (await stat(path)).size)
          continue
        }
        this.#options.log?.warn({ blob: entry }, 'cached model file does not match its sha256; removed')
      } catch {
        // Unreadable: remove and rebuild from Kafka.
      }
      await unlink(path).catch(() => {})
    }
  }

  #enqueue(key: string, step: () => Promise<void>): void {
    const previous = this.#chains.get(key) ?? Promise.resolve()
    const next = previous.then(step).catch((error: unknown) => {
      this.#options.log?.error({ err: error, file: key }, 'model chunk cache step failed')
    })
    this.#chains.set(key, next)
    void next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key)
    })
  }

  #manifestFile(name: string, version: number, path: string): ManifestFile | undefined {
    return this.#options.registry.get(name)?.versions[String(version)]?.files.find((f) => f.path === path)
  }

  #onChunk(message: LogRecord): void {
    const key = message.key?.toString('utf8')
    const parsed = key ? parseChunkKey(key) : undefined
    if (!parsed) return
    const { name, version, path, index } = parsed
    const id = fileKey(name, version, path)
    const chunkPath = this.#chunkPath(id, index)
    const value = message.value
    const known = this.#manifestFile(name, version, path)
    if (known && this.#blobs.get(known.sha256) === known.size) return // already verified: nothing to do

    let partial = this.#partial.get(id)
    if (!value || value.length === 0) {
      // A tombstone: the version was dropped.
      partial?.have.delete(index)
      this.#enqueue(id, () => unlink(chunkPath).catch(() => {}))
      return
    }
    const count = Number(header(message, 'chunks'))
    const expected = header(message, 'sha256')
    const actual = createHash('sha256').update(value).digest('hex')
    if (!Number.isSafeInteger(count) || count < 1 || index >= count || actual !== expected) {
      // The newest value of this key is corrupt: the chunk counts as missing.
      this.#options.log?.warn({ chunk: key }, 'model chunk does not match its sha256 header; ignored')
      partial?.have.delete(index)
      this.#enqueue(id, () => unlink(chunkPath).catch(() => {}))
      return
    }
    if (!partial || partial.count !== count) {
      partial = { count, have: new Set() }
      this.#partial.set(id, partial)
    }
    const target = partial
    this.#enqueue(id, async () => {
      await mkdir(join(this.#partialDir, dirOf(id)), { recursive: true })
      await writeFile(chunkPath, value)
      target.have.add(index)
      delete target.rejected
      if (this.#live) await this.#assemble(name, version, path)
    })
  }

  #assembleState(state: ModelState): void {
    for (const manifest of Object.values(state.versions)) {
      for (const file of manifest.files) {
        const id = fileKey(state.name, manifest.version, file.path)
        if (this.#blobs.get(file.sha256) === file.size || !this.#partial.has(id)) continue
        this.#enqueue(id, () => this.#assemble(state.name, manifest.version, file.path))
      }
    }
  }

  async #assemble(name: string, version: number, path: string): Promise<void> {
    if (this.#closed) return
    const id = fileKey(name, version, path)
    const partial = this.#partial.get(id)
    const file = this.#manifestFile(name, version, path)
    if (!partial || !file) return
    if (this.#blobs.get(file.sha256) === file.size) {
      await this.#dropPartial(id)
      return
    }
    const chunkBytes = this.#options.registry.get(name)?.chunkBytes ?? 0
    if (partial.count !== chunkCount(file.size, chunkBytes) || partial.have.size < partial.count) return
    const tmp = join(this.#partialDir, `${dirOf(id)}.assembling`)
    const hash = createHash('sha256')
    let size = 0
    const out = createWriteStream(tmp)
    try {
      for (let i = 0; i < partial.count; i++) {
        for await (const chunk of createReadStream(this.#chunkPath(id, i), { highWaterMark: 1024 * 1024 })) {
          hash.update(chunk as Buffer)
          size += (chunk as Buffer).length
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()))
        }
      }
    } finally {
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      )
    }
    const sha256 = hash.digest('hex')
    if (sha256 !== file.sha256 || size !== file.size) {
      partial.rejected = `assembled ${size} bytes with sha256 ${sha256.slice(0, 12)}…; the signed manifest says ${file.size} bytes, ${file.sha256.slice(0, 12)}… (a chunk in Kafka is corrupt or was tampered with)`
      this.#options.log?.error({ model: name, version, path, sha256, expected: file.sha256 }, 'model file refused')
      await unlink(tmp).catch(() => {})
      return
    }
    await rename(tmp, join(this.#blobsDir, sha256))
    this.#blobs.set(sha256, size)
    await this.#dropPartial(id)
    this.#options.log?.info({ model: name, version, path, size }, 'model file verified and cached')
    this.#options.onVerified?.(name, version)
  }

  async #dropPartial(id: string): Promise<void> {
    this.#partial.delete(id)
    await rm(join(this.#partialDir, dirOf(id)), { recursive: true, force: true })
  }

  #chunkPath(id: string, index: number): string {
    return join(this.#partialDir, dirOf(id), String(index))
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#options.registry.off('change', this.#onChange)
    await this.#follower.close()
    await Promise.all(this.#chains.values())
    await rm(this.#partialDir, { recursive: true, force: true }).catch(() => {})
  }
}

function fileKey(name: string, version: number, path: string): string {
  return `${name}/${version}/${path}`
}

/** A flat directory name for a file's chunks: paths may hold '/'. */
function dirOf(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32)
}
