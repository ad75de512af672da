/**
 * The demo's web server: the built page (dist/) and, under /v1/, the bridge,
 * forwarded as it is (HTTP, Server-Sent Events and the WebSocket upgrade), so
 * the page talks to one origin and needs no CORS. While the bridge is down,
 * /v1/ answers 502 E_BRIDGE_UNREACHABLE and the page works offline.
 */

import { createReadStream, statSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { connect } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import type { Duplex } from 'node:stream'

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
}

export interface DemoServerOptions {
  /** The built page (browser-demo/dist). */
  root: string
  /** The bridge's base URL, e.g. http://127.0.0.1:8080. */
  bridgeUrl: string
  port?: number
  host?: string
}

export interface DemoServer {
  url: string
  server: Server
  close(): Promise<void>
}

function unreachable(reason: string) {
  return JSON.stringify({
    error_code: 502,
    code: 'E_BRIDGE_UNREACHABLE',
    message: `the bridge is unreachable: ${reason}`,
  })
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const bridge = new URL(options.bridgeUrl)
  const bridgePort = Number(bridge.port || 80)
  const sockets = new Set<Duplex>()

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    if (path.startsWith('/v1/')) {
      const upstream = httpRequest(
        { host: bridge.hostname, port: bridgePort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          // A bridge that dies mid-response (an event stream) must end the page's request too.
          answer.on('close', () => {
            if (!answer.complete) res.destroy()
          })
        },
      )
      upstream.on('error', (error) => {
        if (res.headersSent) return res.destroy()
        res.writeHead(502, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        res.end(unreachable(error.message))
      })
      res.on('close', () => upstream.destroy())
      req.pipe(upstream)
      return
    }
    const file = normalize(join(options.root, path.endsWith('/') ? `${path}index.html` : path))
    if (!file.startsWith(options.root + sep) && file !== options.root) {
      res.writeHead(403).end()
      return
    }
    let size: number
    try {
      const stat = statSync(file)
      if (!stat.isFile()) throw new Error('not a file')
      size = stat.size
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-cache',
    })
    createReadStream(file).pipe(res)
  })

  // WebSocket upgrades go to the bridge byte for byte.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    if (!req.url?.startsWith('/v1/')) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
      return
    }
    const upstream = connect(bridgePort, bridge.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('close', () => {
      sockets.delete(upstream)
      socket.destroy()
    })
    upstream.on('error', (error) => {
      if (!upstream.readyState.startsWith('open') && socket.writable) {
        const body = unreachable(error.message)
        socket.end(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        )
      } else socket.destroy()
    })
    socket.on('close', () => upstream.destroy())
  })

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
