/**
 * The Downloader port over a WHATWG fetch the runtime hands in (undici in
 * Node, the browser's own): a Range request to resume, the body streamed as
 * it arrives, a stalled connection aborted.
 */

import { AgentError } from './errors.ts'
import type { Downloader, DownloadResponse } from './ports.ts'

export interface FetchDownloaderOptions {
  fetch: typeof fetch
  /** Abort when no byte arrives for this long. */
  stallTimeoutMs?: number
  /** Extra request headers for a URL, e.g. the device token for the bridge's model endpoints. */
  headers?: (url: string) => Record<string, string>
}

export function createFetchDownloader(options: FetchDownloaderOptions): Downloader {
  const stallMs = options.stallTimeoutMs ?? 30_000
  const fetchImpl = options.fetch
  return {
    async get(url, { offset, signal, etag }): Promise<DownloadResponse> {
      const controller = new AbortController()
      const abort = () => controller.abort(signal?.reason)
      signal?.addEventListener('abort', abort, { once: true })
      const arm = () => setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs)
      let timer = arm()
      const touch = () => {
        clearTimeout(timer)
        timer = arm()
      }
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', abort)
      }
      let headers: Record<string, string>
      try {
        headers = { ...options.headers?.(url) }
      } catch (e) {
        done()
        throw new AgentError('E_DOWNLOAD', `GET ${url}: ${(e as Error).message}`)
      }
      if (offset > 0) headers.range = `bytes=${offset}-`
      if (offset > 0 && etag !== undefined) headers['if-range'] = etag
      let response: Response
      try {
        response = await fetchImpl(url, { headers, signal: controller.signal })
      } catch (e) {
        done()
        throw new AgentError('E_DOWNLOAD', `GET ${url}: ${(e as Error).cause ?? (e as Error).message}`)
      }
      if (response.status !== 200 && response.status !== 206) {
        done()
        await response.body?.cancel().catch(() => undefined)
        throw new AgentError('E_DOWNLOAD', `GET ${url}: HTTP ${response.status}`)
      }
      const range = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')
      const length = Number(response.headers.get('content-length') ?? Number.NaN)
      const totalSize = range
        ? Number(range[1])
        : response.status === 200 && Number.isFinite(length)
          ? length
          : undefined
      const stream = response.body
      async function* body(): AsyncGenerator<Uint8Array> {
        if (stream === null) return
        try {
          for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
            touch()
            yield chunk as Uint8Array
          }
        } catch (e) {
          throw new AgentError('E_DOWNLOAD', `GET ${url}: ${(e as Error).message}`)
        } finally {
          done()
        }
      }
      const result: DownloadResponse = { status: response.status as 200 | 206, body: body() }
      if (totalSize !== undefined) result.totalSize = totalSize
      const responseEtag = response.headers.get('etag')
      if (responseEtag !== null) result.etag = responseEtag
      return result
    },
  }
}
