// The link: drains an outbox into the bridge over one WebSocket at a time
// (protocol v1), and reconnects forever with backoff. docs/outbox.md, "Link".
import type {
  RecordsAckFrame,
  RecordsFrame,
  ReplyFrame,
  SubscribedFrame,
  SubscribeFrame,
} from '../../protocol/delivery-v1.ts'
import {
  type AckFrame,
  CloseCodes,
  ErrorCodes,
  type ErrorFrame,
  Features,
  type HelloFrame,
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
import { buildProduceFrame } from './produce-frame.ts'
import { SendRate, Throughput } from './rate.ts'
import type { LinkSocket, SocketFactory } from './socket.ts'

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

interface InFlight {
  fromSeq: number
  toSeq: number
  records: number
  bytes: number
}

interface Session {
  socket: LinkSocket
  welcome?: WelcomeFrame
  rate?: SendRate
  /** Next seq to put on the wire. */
  cursor: number
  inFlight: InFlight[]
  /** Frames sent before the last rewind carry an older generation; their errors are stale. */
  generation: number
  frameNo: number
  lastHeard: number
  /** One pending timer per purpose: a long session re-arms them forever without piling them up. */
  timers: Partial<Record<'connect' | 'ping' | 'refresh' | 'wake', unknown>>
  pausedUntil: number
  wakeAt?: number
  closed: boolean
}

export class Link extends Emitter<LinkEvents> {
  readonly #o: Required<Omit<LinkOptions, 'agent'>> & Pick<LinkOptions, 'agent'>
  readonly #clock: LinkClock
  readonly #backoff: Backoff
  readonly #throughput = new Throughput()
  #state: LinkState = 'stopped'
  #since: number
  #session: Session | undefined
  #retryTimer: unknown
  #statsTimer: unknown
  #pumping = false
  #watermark = 0
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
    this.#since = this.#clock.now()
  }

  get state(): LinkState {
    return this.#state
  }

  start(): void {
    if (this.#state !== 'stopped') return
    this.#offAppended = this.#o.outbox.on('appended', () => void this.#pump())
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
    s.socket.send(JSON.stringify(frame))
    return true
  }

  stats(): LinkStats {
    const s = this.#session
    const now = this.#clock.now()
    return {
      state: this.#state,
      online: this.#state === 'online',
      since: this.#since,
      ...(s?.welcome ? { sessionId: s.welcome.sessionId } : {}),
      watermark: this.#watermark,
      inFlightRecords: s ? s.inFlight.reduce((n, f) => n + f.records, 0) : 0,
      sendRatePerSec: this.#throughput.perSec(now),
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
    const session: Session = {
      socket: undefined as unknown as LinkSocket,
      cursor: 0,
      inFlight: [],
      generation: 0,
      frameNo: 0,
      lastHeard: this.#clock.now(),
      timers: {},
      pausedUntil: 0,
      closed: false,
    }
    this.#session = session
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
    this.#setTimer(
      session,
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
      const hello: HelloFrame = {
        type: 'hello',
        token,
        ...(this.#o.agent ? { agent: this.#o.agent } : {}),
        ...(this.#o.outbox.needsExactWatermark ? { exact: true } : {}),
      }
      session.socket.send(JSON.stringify(hello))
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
        void this.#onAck(session, frame)
        return
      case 'error':
        this.#onError(session, frame)
        return
      case 'token-accepted':
        this.#scheduleRefresh(session, frame.tokenExpiresAt)
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
    const first = await this.#o.outbox.resume(welcome.watermark)
    if (session.closed) return
    session.welcome = welcome
    session.rate = new SendRate(welcome.limits.ratePerSec, welcome.limits.burst, this.#clock.now())
    session.cursor = first
    this.#watermark = welcome.watermark
    this.#backoff.reset()
    this.#setState('online')
    this.emit('online', { sessionId: welcome.sessionId, watermark: welcome.watermark })
    this.#heartbeat(session)
    this.#scheduleRefresh(session, welcome.tokenExpiresAt)
    void this.#pump()
  }

  #heartbeat(session: Session): void {
    // Pings every interval; two unanswered ones in a row mean the connection is
    // dead, which is noticed within deadAfterMs of the last frame heard.
    const deadAfter = Math.min(this.#o.deadAfterMs, 2 * (session.welcome?.limits.heartbeatMs ?? this.#o.deadAfterMs))
    const interval = Math.min(this.#o.pingMs, deadAfter / 3)
    const beat = () => {
      if (session.closed) return
      const silent = this.#clock.now() - session.lastHeard
      if (silent > deadAfter - interval) {
        this.#endSession(session, 4000, `no frame from the bridge for ${silent} ms`)
        return
      }
      session.socket.send(JSON.stringify({ type: 'ping', t: this.#clock.now() }))
      this.#setTimer(session, 'ping', beat, interval)
    }
    this.#setTimer(session, 'ping', beat, interval)
  }

  #scheduleRefresh(session: Session, expiresAt: number): void {
    const left = expiresAt - this.#clock.now()
    const lead = Math.min(this.#o.refreshBeforeMs, left / 5)
    this.#setTimer(
      session,
      'refresh',
      async () => {
        if (session.closed) return
        try {
          const token = await this.#o.token()
          if (!session.closed) session.socket.send(JSON.stringify({ type: 'token', token }))
        } catch (error) {
          this.#fail({ code: 'E_TOKEN_PROVIDER', message: (error as Error).message, retryable: true })
          this.#setTimer(session, 'refresh', () => this.#scheduleRefresh(session, expiresAt), 5000)
        }
      },
      Math.max(0, Math.min(left - lead, 2 ** 31 - 1)),
    )
  }

  #setTimer(session: Session, purpose: keyof Session['timers'], run: () => void, ms: number): void {
    const previous = session.timers[purpose]
    if (previous !== undefined) this.#clock.clearTimeout(previous)
    session.timers[purpose] = this.#clock.setTimeout(run, ms)
  }

  async #onAck(session: Session, ack: AckFrame): Promise<void> {
    if (ack.watermark <= this.#watermark) return
    const records = ack.watermark - this.#watermark
    this.#watermark = ack.watermark
    while (session.inFlight.length && (session.inFlight[0] as InFlight).toSeq <= ack.watermark) session.inFlight.shift()
    this.#throughput.add(records, this.#clock.now())
    await this.#o.outbox.ack(ack.watermark)
    this.emit('ack', { watermark: ack.watermark, records })
    void this.#pump()
  }

  #onError(session: Session, error: ErrorFrame): void {
    this.#fail({ code: error.code, message: error.message, retryable: error.retryable })
    const generation = error.id === undefined ? undefined : Number(error.id.split('-')[0])
    // An error about a frame sent before the last rewind says nothing new.
    if (generation !== undefined && generation !== session.generation) return
    if (error.watermark !== undefined && error.watermark > this.#watermark) {
      void this.#onAck(session, { type: 'ack', ranges: [], watermark: error.watermark })
    }
    if (error.id === undefined) return // Session-level errors end with a close, handled there.
    // The bridge rejected this frame whole and every frame after it: send again from nextSeq.
    const nextSeq = error.nextSeq ?? this.#watermark + 1
    session.generation++
    session.inFlight = session.inFlight.filter((f) => f.toSeq < nextSeq)
    session.cursor = nextSeq
    // The bridge says how long to wait (rate limit, shutdown, Kafka outage);
    // credits and seq errors resend at once; a record the bridge will never
    // take (topic denied, too large) is retried slowly, and reported.
    const resendNow = error.retryable || error.code === ErrorCodes.SEQ_GAP || error.code === ErrorCodes.SEQ_BACKWARDS
    const wait = error.retryAfterMs ?? (resendNow ? 0 : this.#backoff.next())
    session.pausedUntil = this.#clock.now() + wait
    if (wait > 0) this.#wakeAt(session, session.pausedUntil)
    else void this.#pump()
  }

  #fail(error: { code: string; message: string; retryable: boolean }): void {
    this.#lastError = { code: error.code, message: error.message, at: this.#clock.now() }
    this.emit('error', error)
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      for (;;) {
        const s = this.#session
        const limits = s?.welcome?.limits
        if (!s || !limits || !s.rate || s.closed || this.#state !== 'online') return
        const now = this.#clock.now()
        if (now < s.pausedUntil) {
          // Timers may fire a little before the wall clock says so: come back then.
          this.#wakeAt(s, s.pausedUntil)
          return
        }
        if (s.inFlight.length >= this.#o.maxInFlightFrames) return
        const usedRecords = s.inFlight.reduce((n, f) => n + f.records, 0)
        const usedBytes = s.inFlight.reduce((n, f) => n + f.bytes, 0)
        const maxRecords = Math.min(limits.maxBatchRecords, limits.credits.records - usedRecords)
        const maxBytes = Math.min(limits.maxFrameBytes, limits.credits.bytes - usedBytes)
        if (maxRecords <= 0 || maxBytes <= 256) return
        if (s.cursor > this.#o.outbox.durableSeq) return
        const want = Math.min(maxRecords, this.#o.outbox.durableSeq - s.cursor + 1)
        const tokens = s.rate.available(now)
        if (tokens < want && tokens < 100) {
          // Wait for a frame's worth of tokens rather than trickle single records.
          this.#wakeAt(s, now + Math.max(5, s.rate.waitFor(Math.min(want, 100), now)))
          return
        }
        const cursor = s.cursor
        const entries = await this.#o.outbox.peek(cursor, Math.min(want, tokens), maxBytes)
        if (s.closed || this.#session !== s) return
        if (s.cursor !== cursor) continue // An error frame rewound the session meanwhile.
        const first = entries[0]
        if (!first) return
        if (first.seq !== cursor) {
          // Drops removed records this session was about to send: a new session
          // renumbers what is left (Outbox.resume), so reconnect at once.
          this.#endSession(s, CloseCodes.NORMAL, 'outbox dropped unsent records; resuming')
          return
        }
        const features = s.welcome?.features ?? []
        const columns = features.includes(Features.PRODUCE_COLUMNS)
        const columnHeaders = columns && features.includes(Features.PRODUCE_COLUMNS_HEADERS)
        const frame = buildProduceFrame(entries, `${s.generation}-${++s.frameNo}`, maxBytes, { columns, columnHeaders })
        if (!frame) {
          if (s.inFlight.length) return // Wait for credits to come back.
          this.#fail({
            code: ErrorCodes.RECORD_TOO_LARGE,
            message: `record ${first.seq} does not fit in one frame of ${maxBytes} bytes`,
            retryable: false,
          })
          s.pausedUntil = now + this.#backoff.next()
          this.#wakeAt(s, s.pausedUntil)
          return
        }
        s.rate.take(frame.count)
        s.inFlight.push({ fromSeq: frame.fromSeq, toSeq: frame.toSeq, records: frame.count, bytes: frame.data.length })
        s.cursor = frame.toSeq + 1
        s.socket.send(frame.data)
      }
    } catch (error) {
      this.#fail({ code: 'E_LINK', message: (error as Error).message, retryable: true })
      const s = this.#session
      if (s) this.#endSession(s, 4000, 'link error')
    } finally {
      this.#pumping = false
    }
  }

  /** One pending wake-up per session, at `at` or a little after. */
  #wakeAt(session: Session, at: number): void {
    if (session.wakeAt !== undefined && session.wakeAt <= at) return
    session.wakeAt = at
    this.#setTimer(
      session,
      'wake',
      () => {
        session.wakeAt = undefined
        void this.#pump()
      },
      Math.max(1, at - this.#clock.now() + 1),
    )
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
    session.closed = true
    for (const t of Object.values(session.timers)) this.#clock.clearTimeout(t)
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
