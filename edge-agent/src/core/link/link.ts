// The link: drains an outbox into the bridge over one WebSocket at a time
// (protocol v1), and reconnects forever with backoff. docs/outbox.md, "Link".
// Here: the connection's states, reconnects and frame dispatch; a session's
// timers are in session.ts, outbox → produce frames → acks in producer.ts.
import type {
  RecordsAckFrame,
  RecordsFrame,
  ReplyFrame,
  SubscribedFrame,
  SubscribeFrame,
} from '../../protocol/delivery-v1.ts'
import {
  CloseCodes,
  ErrorCodes,
  type ModelFrame,
  type ModelStatusFrame,
  SUBPROTOCOL_V1,
  type ServerFrame,
  type WelcomeFrame,
} from '../../protocol/v1.ts'
import { Emitter } from '../outbox/emitter.ts'
import type { Outbox, OutboxStats } from '../outbox/outbox.ts'
import { Backoff, type BackoffOptions, backoffDefaults } from './backoff.ts'
import { type LinkClock, systemClock } from './clock.ts'
import { outboxFailure, Producer } from './producer.ts'
import { Session } from './session.ts'
import type { SocketFactory } from './socket.ts'

export interface LinkOptions {
  /** The bridge's base URL (http(s):// or ws(s)://); the link adds /v1/ws. */
  url: string
  outbox: Outbox
  socket: SocketFactory
  /** Returns a valid token for this device; called at each connect and before expiry. */
  token: () => string | Promise<string>
  clock?: LinkClock
  backoff?: BackoffOptions
  /** App-level ping interval (default 5 s); silence for deadAfterMs (default 15 s) ends the socket. */
  pingMs?: number
  deadAfterMs?: number
  /** Refresh the token this long before it expires (default 60 s, or a fifth of its lifetime when shorter). */
  refreshBeforeMs?: number
  /** Frames sent and not yet acked, at most (default 8); credits bound them too. */
  maxInFlightFrames?: number
  /** Give up on a connect that is not welcomed within this time (default 10 s). */
  connectTimeoutMs?: number
  agent?: { name: string; version: string }
}

export type LinkState = 'stopped' | 'connecting' | 'online' | 'offline'

export interface LinkStats {
  state: LinkState
  online: boolean
  /** ms since the epoch of the last state change. */
  since: number
  sessionId?: string
  /** Highest seq the bridge reported committed. */
  watermark: number
  inFlightRecords: number
  /** Records acked per second, over the last 10 s. */
  sendRatePerSec: number
  reconnects: number
  lastError?: { code: string; message: string; at: number }
  outbox: OutboxStats
}

export interface LinkEvents {
  state: { state: LinkState; code?: number; reason?: string; retryInMs?: number }
  online: { sessionId: string; watermark: number }
  offline: { code: number; reason: string; retryInMs: number }
  ack: { watermark: number; records: number }
  error: { code: string; message: string; retryable: boolean }
  stats: LinkStats
}

/**
 * Bridge frames the link does not act on itself: other modules (model
 * updates, deliveries) take them through `onFrame`.
 */
export type SessionServerFrame = ModelFrame | SubscribedFrame | RecordsFrame
/** Frames other modules send through `send` in a welcomed session. */
export type SessionClientFrame = ModelStatusFrame | SubscribeFrame | RecordsAckFrame | ReplyFrame

type FrameHandler<T extends SessionServerFrame['type']> = (frame: Extract<SessionServerFrame, { type: T }>) => void

export class Link extends Emitter<LinkEvents> {
  readonly #o: Required<Omit<LinkOptions, 'agent'>> & Pick<LinkOptions, 'agent'>
  readonly #clock: LinkClock
  readonly #backoff: Backoff
  readonly #producer: Producer
  #state: LinkState = 'stopped'
  #since: number
  #session: Session | undefined
  #retryTimer: unknown
  #statsTimer: unknown
  #reconnects = 0
  #lastError: LinkStats['lastError']
  #offAppended: (() => void) | undefined
  readonly #frameHandlers = new Map<string, Set<(frame: SessionServerFrame) => void>>()

  constructor(options: LinkOptions) {
    super()
    this.#clock = options.clock ?? systemClock
    this.#o = {
      clock: this.#clock,
      backoff: backoffDefaults,
      pingMs: 5000,
      deadAfterMs: 15_000,
      refreshBeforeMs: 60_000,
      maxInFlightFrames: 8,
      connectTimeoutMs: 10_000,
      ...options,
    }
    this.#backoff = new Backoff(this.#o.backoff, () => this.#clock.random())
    this.#producer = new Producer(
      {
        outbox: this.#o.outbox,
        clock: this.#clock,
        backoff: this.#backoff,
        maxInFlightFrames: this.#o.maxInFlightFrames,
      },
      { acked: (ack) => this.emit('ack', ack), fail: (error) => this.#fail(error) },
    )
    this.#since = this.#clock.now()
  }

  get state(): LinkState {
    return this.#state
  }

  start(): void {
    if (this.#state !== 'stopped') return
    this.#offAppended = this.#o.outbox.on('appended', () => void this.#producer.pump())
    this.#connect()
    const tick = () => {
      this.emit('stats', this.stats())
      this.#statsTimer = this.#clock.setTimeout(tick, 1000)
    }
    this.#statsTimer = this.#clock.setTimeout(tick, 1000)
  }

  /** Closes the socket (1000) and stops reconnecting; the outbox keeps what is unacked. */
  async stop(): Promise<void> {
    this.#offAppended?.()
    this.#offAppended = undefined
    this.#clock.clearTimeout(this.#retryTimer)
    this.#clock.clearTimeout(this.#statsTimer)
    const s = this.#session
    this.#setState('stopped')
    if (s) this.#endSession(s, CloseCodes.NORMAL, 'agent stopping')
  }

  /** Calls `handler` for every frame of this type from the bridge; returns the unsubscribe function. */
  onFrame<T extends SessionServerFrame['type']>(type: T, handler: FrameHandler<T>): () => void {
    let set = this.#frameHandlers.get(type)
    if (!set) {
      set = new Set()
      this.#frameHandlers.set(type, set)
    }
    const h = handler as (frame: SessionServerFrame) => void
    set.add(h)
    return () => set.delete(h)
  }

  /**
   * Sends a frame in the current session; false when there is none welcomed
   * (offline): the caller decides whether to keep it for the next `online`.
   */
  send(frame: SessionClientFrame): boolean {
    const s = this.#session
    if (!s?.welcome || s.closed || this.#state !== 'online') return false
    s.sendJson(frame)
    return true
  }

  stats(): LinkStats {
    const s = this.#session
    return {
      state: this.#state,
      online: this.#state === 'online',
      since: this.#since,
      ...(s?.welcome ? { sessionId: s.welcome.sessionId } : {}),
      watermark: this.#producer.watermark,
      inFlightRecords: this.#producer.inFlightRecords(),
      sendRatePerSec: this.#producer.sendRatePerSec(this.#clock.now()),
      reconnects: this.#reconnects,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      outbox: this.#o.outbox.stats(),
    }
  }

  #setState(state: LinkState, extra: Omit<LinkEvents['state'], 'state'> = {}): void {
    if (this.#state === state) return
    this.#state = state
    this.#since = this.#clock.now()
    this.emit('state', { state, ...extra })
  }

  #connect(): void {
    if (this.#state === 'stopped' && this.#offAppended === undefined) return
    this.#setState('connecting')
    const url = `${this.#o.url.replace(/^http/, 'ws').replace(/\/+$/, '')}/v1/ws`
    const session = new Session(this.#clock, this.#o, {
      end: (code, reason) => this.#endSession(session, code, reason),
      fail: (error) => this.#fail(error),
    })
    this.#session = session
    this.#producer.opened(session)
    try {
      session.socket = this.#o.socket(url, SUBPROTOCOL_V1, {
        onOpen: () => void this.#hello(session),
        onMessage: (text) => this.#onMessage(session, text),
        onClose: (code, reason) => this.#onClosed(session, code, reason),
      })
    } catch (error) {
      this.#onClosed(session, 1006, (error as Error).message)
      return
    }
    session.setTimer(
      'connect',
      () => {
        if (!session.welcome) this.#endSession(session, 4000, 'no welcome in time')
      },
      this.#o.connectTimeoutMs,
    )
  }

  async #hello(session: Session): Promise<void> {
    try {
      const token = await this.#o.token()
      if (session.closed) return
      session.sendJson({
        type: 'hello',
        token,
        ...(this.#o.agent ? { agent: this.#o.agent } : {}),
        ...(this.#o.outbox.needsExactWatermark ? { exact: true } : {}),
      })
    } catch (error) {
      this.#fail({ code: 'E_TOKEN_PROVIDER', message: (error as Error).message, retryable: true })
      this.#endSession(session, 4000, 'no token')
    }
  }

  #onMessage(session: Session, text: string): void {
    if (session.closed) return
    session.lastHeard = this.#clock.now()
    let frame: ServerFrame
    try {
      frame = JSON.parse(text) as ServerFrame
    } catch {
      return
    }
    switch (frame.type) {
      case 'welcome':
        void this.#onWelcome(session, frame)
        return
      case 'ack':
        void this.#producer.ack(frame)
        return
      case 'error':
        this.#producer.error(frame)
        return
      case 'token-accepted':
        session.scheduleRefresh(frame.tokenExpiresAt)
        return
      case 'pong':
        return
      case 'model':
      case 'subscribed':
      case 'records':
        for (const handler of this.#frameHandlers.get(frame.type) ?? []) {
          try {
            handler(frame)
          } catch {
            // A handler's failure must not break the link.
          }
        }
        return
    }
  }

  async #onWelcome(session: Session, welcome: WelcomeFrame): Promise<void> {
    // What Kafka already has leaves the outbox; a gap left by drops is closed by renumbering.
    let first: number
    try {
      first = await this.#o.outbox.resume(welcome.watermark)
    } catch (error) {
      // Writing the new numbering failed (a full disk): try again with the next session.
      this.#fail(outboxFailure(error))
      this.#endSession(session, 4000, 'outbox error')
      return
    }
    if (session.closed) return
    session.welcome = welcome
    this.#producer.welcomed(welcome, first)
    this.#backoff.reset()
    this.#setState('online')
    this.emit('online', { sessionId: welcome.sessionId, watermark: welcome.watermark })
    session.heartbeat()
    session.scheduleRefresh(welcome.tokenExpiresAt)
    void this.#producer.pump()
  }

  #fail(error: LinkEvents['error']): void {
    this.#lastError = { code: error.code, message: error.message, at: this.#clock.now() }
    this.emit('error', error)
  }

  #endSession(session: Session, code: number, reason: string): void {
    if (session.closed) return
    try {
      session.socket.close(code, reason)
    } catch {
      // Already closing.
    }
    this.#onClosed(session, code, reason)
  }

  #onClosed(session: Session, code: number, reason: string): void {
    if (session.closed) return
    session.markClosed()
    if (this.#session === session) this.#session = undefined
    if (this.#state === 'stopped') return
    // A token that expired is renewed by the provider at once; the rest back off.
    const retryInMs = code === CloseCodes.TOKEN_EXPIRED ? 0 : this.#backoff.next()
    if (code === CloseCodes.UNAUTHORIZED || code === CloseCodes.TOKEN_EXPIRED) {
      this.#fail({ code: ErrorCodes.TOKEN_INVALID, message: reason, retryable: true })
    }
    this.#reconnects++
    this.#setState('offline', { code, reason, retryInMs })
    this.emit('offline', { code, reason, retryInMs })
    this.#clock.clearTimeout(this.#retryTimer)
    this.#retryTimer = this.#clock.setTimeout(() => this.#connect(), retryInMs)
  }
}
