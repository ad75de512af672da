// The socket port on Node, with the `ws` package.
import WebSocket from 'ws'
import type { LinkSocket, SocketFactory, SocketHandlers } from '../../core/link/socket.ts'

export const wsSocket: SocketFactory = (url: string, protocol: string, handlers: SocketHandlers): LinkSocket => {
  const ws = new WebSocket(url, [protocol], { perMessageDeflate: false, handshakeTimeout: 10_000 })
  let closed = false
  const closeOnce = (code: number, reason: string) => {
    if (closed) return
    closed = true
    handlers.onClose(code, reason)
  }
  ws.on('open', () => handlers.onOpen())
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) handlers.onMessage(data.toString('utf8'))
  })
  ws.on('close', (code: number, reason: Buffer) => closeOnce(code, reason.toString('utf8')))
  ws.on('error', (error: Error) => {
    closeOnce(1006, error.message)
    ws.terminate()
  })
  ws.on('unexpected-response', (_request, response) => {
    closeOnce(response.statusCode === 401 ? 4401 : 1013, `HTTP ${response.statusCode} at upgrade`)
    ws.terminate()
  })
  return {
    send(data: string | Uint8Array) {
      if (ws.readyState === WebSocket.OPEN) ws.send(data)
    },
    close(code: number, reason: string) {
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate()
        return
      }
      // A close handshake on a dead connection could hang: terminate after a grace period.
      ws.close(code >= 4000 || code === 1000 ? code : 1000, reason.slice(0, 120))
      setTimeout(() => ws.terminate(), 2000).unref()
    },
  }
}
