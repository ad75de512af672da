// The socket port: what the link needs from a WebSocket. Adapters:
// node/link/ws-socket.ts (ws) and browser/link/native-socket.ts.

export interface SocketHandlers {
  onOpen(): void
  onMessage(text: string): void
  /** Called once, whatever ended the socket (close frame, error, network loss). */
  onClose(code: number, reason: string): void
}

export interface LinkSocket {
  /** Text for JSON frames, bytes for binary produce frames. */
  send(data: string | Uint8Array): void
  close(code: number, reason: string): void
}

/** Opens a WebSocket to `url` offering `protocol`. */
export type SocketFactory = (url: string, protocol: string, handlers: SocketHandlers) => LinkSocket
