import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { CloseCodes, ErrorCodes, SUBPROTOCOL_V1 } from '@kafka-edge/edge-agent/protocol'
import type { FastifyInstance } from 'fastify'
import { WebSocketServer } from 'ws'
import { bearerToken, type DeviceIdentity } from '../auth/tokens.ts'
import { BridgeError, httpStatusOf } from '../errors.ts'
import type { BridgeConfig } from '../config.ts'
import type { IngestContext } from '../ingest/context.ts'
import { DeviceSession, type SessionRegistry } from '../ws/device-session.ts'
import { errorBody } from '../rest/reports.ts'

export const WS_PATH = '/v1/ws'

function refuseUpgrade(socket: Duplex, error: BridgeError): void {
  const body = JSON.stringify(errorBody(error))
  const status = httpStatusOf[error.code]
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

export interface WsSessions {
  sessions: SessionRegistry
  /** Sockets that have not said hello yet are not in `sessions`; this counts all. */
  sockets(): number
  /** Resolves once frames already received are handled and their writes settled. */
  settled(): Promise<void>
  close(reason: string): void
}

/**
 * The WebSocket side at /v1/ws (subprotocol kafka-edge.v1). The token in the
 * Authorization header is checked before the upgrade, so a bad or expired one
 * never gets a socket; browsers, which cannot set headers, send it in hello.
 */
export function wsSessionRoutes(
  app: FastifyInstance,
  config: BridgeConfig,
  isDraining: () => boolean,
  ingest: () => IngestContext | undefined,
): WsSessions {
  const sessions: SessionRegistry = new Map()
  const all = new Set<DeviceSession>()
  const { limits } = config
  const wss = new WebSocketServer({
    noServer: true,
    // Frames a bit over the limit get an E_FRAME_TOO_LARGE error and the socket
    // lives; far over it, ws closes with 1009 before buffering them.
    maxPayload: limits.maxFrameBytes * 2,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL_V1) ? SUBPROTOCOL_V1 : false),
  })

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(request, socket, head)
  })

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {})
    const path = (request.url ?? '').split('?')[0]
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (isDraining()) {
      refuseUpgrade(
        socket,
        new BridgeError(ErrorCodes.SHUTTING_DOWN, 'the bridge is shutting down; reconnect to another instance'),
      )
      return
    }
    const ctx = ingest()
    if (!ctx) {
      refuseUpgrade(
        socket,
        new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'the bridge has not reached Kafka yet; retry with backoff', {
          retryable: true,
        }),
      )
      return
    }
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    if (!offered.includes(SUBPROTOCOL_V1)) {
      refuseUpgrade(
        socket,
        new BridgeError(
          ErrorCodes.SUBPROTOCOL,
          `offer the WebSocket subprotocol "${SUBPROTOCOL_V1}" (Sec-WebSocket-Protocol)`,
        ),
      )
      return
    }
    let identity: DeviceIdentity | undefined
    const token = bearerToken(request.headers.authorization)
    if (request.headers.authorization !== undefined && !token) {
      refuseUpgrade(
        socket,
        new BridgeError(ErrorCodes.TOKEN_INVALID, 'the Authorization header must be "Bearer <jwt>"'),
      )
      return
    }
    if (token) {
      try {
        identity = await ctx.verifier.verify(token)
      } catch (error) {
        ctx.metrics.errors.inc({ code: (error as BridgeError).code ?? ErrorCodes.INTERNAL })
        refuseUpgrade(
          socket,
          error instanceof BridgeError ? error : new BridgeError(ErrorCodes.INTERNAL, 'token check failed'),
        )
        return
      }
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new DeviceSession(ws, ctx, sessions, identity)
      all.add(session)
      ws.once('close', () => all.delete(session))
    })
  }

  // One timer for every socket: a socket that did not answer the last ping is dead.
  const heartbeat = setInterval(() => {
    for (const session of all) {
      if (!session.alive) {
        session.terminate()
        all.delete(session)
        continue
      }
      session.alive = false
      session.ping()
    }
  }, limits.heartbeatMs)
  heartbeat.unref()

  return {
    sessions,
    sockets: () => all.size,
    async settled() {
      await Promise.all([...all].map((s) => s.settled()))
    },
    close(reason: string) {
      clearInterval(heartbeat)
      for (const session of all) session.close(CloseCodes.GOING_AWAY, ErrorCodes.SHUTTING_DOWN, reason)
      all.clear()
      wss.close()
    },
  }
}
