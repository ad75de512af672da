// The socket port in browsers, with the native WebSocket. Browsers cannot set
// headers on a WebSocket: the link sends the token in hello.
import type { LinkSocket, SocketFactory, SocketHandlers } from '../../core/link/socket.ts'

interface NativeWebSocket {
  readonly readyState: number
  onopen: (() => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: (() => void) | null
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
}

type NativeWebSocketClass = new (url: string, protocols: string[]) => NativeWebSocket

export function nativeSocket(
  WebSocketClass: NativeWebSocketClass = (globalThis as unknown as { WebSocket: NativeWebSocketClass }).WebSocket,
): SocketFactory {
  return (url: string, protocol: string, handlers: SocketHandlers): LinkSocket => {
    const ws = new WebSocketClass(url, [protocol])
    let closed = false
    const closeOnce = (code: number, reason: string) => {
      if (closed) return
      closed = true
      handlers.onClose(code, reason)
    }
    ws.onopen = () => handlers.onOpen()
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') handlers.onMessage(event.data)
    }
    ws.onclose = (event) => closeOnce(event.code, event.reason)
    ws.onerror = () => closeOnce(1006, 'WebSocket error')
    return {
      send(data: string | Uint8Array) {
        if (ws.readyState === 1) ws.send(data)
      },
      close(code: number, reason: string) {
        // Browsers only let scripts send 1000 or 3000-4999.
        ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason.slice(0, 120))
        closeOnce(code, reason)
      },
    }
  }
}
