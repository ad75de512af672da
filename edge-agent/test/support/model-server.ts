/**
 * A real HTTP server on 127.0.0.1 serving a folder with Range support, as
 * any static server or the bridge's model endpoints do. Tests choose which
 * folder, can replace a file's bytes (tampering), and can slow it down.
 */

import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'

export interface ModelServer {
  url: string
  /** Paths (relative to the root) answered from memory instead of disk. */
  overrides: Map<string, Uint8Array>
  /** Milliseconds to wait between chunks of `chunkBytes`. */
  throttle: { delayMs: number; chunkBytes: number }
  requests: { path: string; range: string | undefined }[]
  close(): Promise<void>
}

export async function startModelServer(root: string): Promise<ModelServer> {
  const overrides = new Map<string, Uint8Array>()
  const throttle = { delayMs: 0, chunkBytes: 16384 }
  const requests: ModelServer['requests'] = []
  const server: Server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '')
    requests.push({ path, range: req.headers.range })
    let body: Uint8Array
    try {
      body = overrides.get(path) ?? new Uint8Array(await readFile(join(root, path)))
    } catch {
      res.writeHead(404).end()
      return
    }
    let start = 0
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    if (range) {
      start = Number(range[1])
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end()
        return
      }
      res.writeHead(206, {
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': body.length - start,
      })
    } else res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' })
    for (let at = start; at < body.length; at += throttle.chunkBytes) {
      if (res.destroyed) return
      res.write(body.subarray(at, Math.min(body.length, at + throttle.chunkBytes)))
      if (throttle.delayMs > 0) await new Promise((r) => setTimeout(r, throttle.delayMs))
    }
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    overrides,
    throttle,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
