/**
 * Downloads a candidate's files into its download folder, resuming each
 * file from the bytes already on disk with a Range request, and checks each
 * completed file's size and SHA-256 before the candidate goes further.
 */

import { AgentError } from '../errors.ts'
import type { Crypto, Downloader, ModelStore } from '../ports.ts'
import { type ModelManifest, modelId, parseManifest } from './manifest.ts'
import { downloadDir } from './slots.ts'
import { verifyFile } from './verify.ts'

export interface DownloadProgress {
  name: string
  version: number
  path: string
  /** Bytes of all files on disk so far, and in total. */
  received: number
  total: number
}

export interface ModelSource {
  manifestUrl: string
  /**
   * Where files live: a template with {name}, {version} and {path}
   * (e.g. the bridge's /v1/models/{name}/{version}/files/{path}); by default
   * each path resolves against the manifest URL.
   */
  filesUrl?: string | undefined
}

const SYNC_EVERY_BYTES = 1 << 20

export function fileUrl(source: ModelSource, manifest: ModelManifest, path: string): string {
  if (source.filesUrl === undefined) return new URL(path, source.manifestUrl).href
  return source.filesUrl
    .replaceAll('{name}', encodeURIComponent(manifest.name))
    .replaceAll('{version}', String(manifest.version))
    .replaceAll('{path}', path.split('/').map(encodeURIComponent).join('/'))
}

export interface DownloadContext {
  store: ModelStore
  crypto: Crypto
  downloader: Downloader
  onProgress(progress: DownloadProgress): void
  signal?: AbortSignal | undefined
}

/** Brings every file of the manifest to disk, complete and verified. */
export async function downloadFiles(manifest: ModelManifest, source: ModelSource, ctx: DownloadContext): Promise<void> {
  const dir = downloadDir(manifest)
  const total = manifest.files.reduce((n, f) => n + f.size, 0)
  let done = 0
  for (const file of manifest.files) {
    const path = `${dir}/${file.path}`
    const report = (fileBytes: number) =>
      ctx.onProgress({
        name: manifest.name,
        version: manifest.version,
        path: file.path,
        received: done + fileBytes,
        total,
      })
    let have = (await ctx.store.size(path)) ?? 0
    if (have > file.size) {
      await ctx.store.remove(path)
      have = 0
    }
    if (have < file.size) {
      const response = await ctx.downloader.get(fileUrl(source, manifest, file.path), {
        offset: have,
        signal: ctx.signal,
      })
      if (response.status === 200 && have > 0) {
        // The server ignored the Range: start the file over.
        await ctx.store.remove(path)
        have = 0
      }
      const out = await ctx.store.append(path)
      try {
        let unsynced = 0
        for await (const chunk of response.body) {
          if (have + chunk.length > file.size)
            throw new AgentError(
              'E_SIZE_MISMATCH',
              `${modelId(manifest)}: ${file.path} is longer than the manifest's ${file.size} bytes`,
            )
          await out.write(chunk)
          have += chunk.length
          unsynced += chunk.length
          if (unsynced >= SYNC_EVERY_BYTES) {
            await out.sync()
            unsynced = 0
          }
          report(have)
        }
        await out.sync()
        if (have < file.size)
          throw new AgentError(
            'E_DOWNLOAD',
            `${modelId(manifest)}: ${file.path} ended after ${have} of ${file.size} bytes`,
          )
      } finally {
        await out.close()
      }
    }
    const bytes = await ctx.store.read(path)
    try {
      await verifyFile(manifest, file.path, bytes ?? new Uint8Array(), ctx.crypto)
    } catch (e) {
      // A bad file is never resumed: the next attempt downloads it afresh.
      await ctx.store.remove(path)
      throw e
    }
    done += file.size
    report(0)
  }
}

/** GETs and parses a manifest (E_DOWNLOAD for the network, E_MANIFEST_INVALID for the content). */
export async function fetchManifest(downloader: Downloader, url: string): Promise<ModelManifest> {
  const response = await downloader.get(url, { offset: 0 })
  const chunks: Uint8Array[] = []
  for await (const chunk of response.body) chunks.push(chunk)
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    bytes.set(c, at)
    at += c.length
  }
  return parseManifest(new TextDecoder().decode(bytes))
}
