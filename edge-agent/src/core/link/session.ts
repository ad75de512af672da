// One WebSocket to the bridge, from connect to close: its welcome, when the
// bridge was last heard, and the timers it runs (connect deadline, heartbeat,
// token refresh, the producer's wake-up). Link opens sessions and decides what
// follows their end; a closed session is never reused.
import type { ClientFrame, WelcomeFrame } from '../../protocol/v1.ts'
import type { LinkClock } from './clock.ts'
import type { LinkEvents } from './link.ts'
import type { LinkSocket } from './socket.ts'

export type TimerPurpose = 'connect' | 'ping' | 'refresh' | 'wake'

export interface SessionOptions {
  /** Returns a valid token for this device (LinkOptions.token). */
  token: () => string | Promise<string>
  pingMs: number
  deadAfterMs: number
  refreshBeforeMs: number
}

export interface SessionHooks {
  /** Closes the socket with this code and reason, and lets the link reconnect. */
  end(code: number, reason: string): void
  fail(error: LinkEvents['error']): void
}

export class Session {
  /** Set right after construction: the socket's handlers need the session first. */
  socket!: LinkSocket
  welcome?: WelcomeFrame
  lastHeard: number
  closed = false
  readonly #clock: LinkClock
  readonly #options: SessionOptions
  readonly #hooks: SessionHooks
  /** One pending timer per purpose: a long session re-arms them forever without piling them up. */
  readonly #timers: Partial<Record<TimerPurpose, unknown>> = {}

  constructor(clock: LinkClock, options: SessionOptions, hooks: SessionHooks) {
    this.#clock = clock
    this.#options = options
    this.#hooks = hooks
    this.lastHeard = clock.now()
  }

  sendJson(frame: ClientFrame): void {
    this.socket.send(JSON.stringify(frame))
  }

  end(code: number, reason: string): void {
    this.#hooks.end(code, reason)
  }

  /** Marks the session over and clears its timers. */
  markClosed(): void {
    this.closed = true
    for (const t of Object.values(this.#timers)) this.#clock.clearTimeout(t)
  }

  setTimer(purpose: TimerPurpose, run: () => void, ms: number): void {
    const previous = this.#timers[purpose]
    if (previous !== undefined) this.#clock.clearTimeout(previous)
    this.#timers[purpose] = this.#clock.setTimeout(run, ms)
  }

  heartbeat(): void {
    // Pings every interval; two unanswered ones in a row mean the connection is
    // dead, which is noticed within deadAfterMs of the last frame heard.
    const { pingMs, deadAfterMs } = this.#options
    const deadAfter = Math.min(deadAfterMs, 2 * (this.welcome?.limits.heartbeatMs ?? deadAfterMs))
    const interval = Math.min(pingMs, deadAfter / 3)
    const beat = () => {
      if (this.closed) return
      const silent = this.#clock.now() - this.lastHeard
      if (silent > deadAfter - interval) {
        this.end(4000, `no frame from the bridge for ${silent} ms`)
        return
      }
      this.sendJson({ type: 'ping', t: this.#clock.now() })
      this.setTimer('ping', beat, interval)
    }
    this.setTimer('ping', beat, interval)
  }

  /** Sends a fresh token ahead of `expiresAt`; the bridge's `token-accepted` schedules the next. */
  scheduleRefresh(expiresAt: number): void {
    const left = expiresAt - this.#clock.now()
    const lead = Math.min(this.#options.refreshBeforeMs, left / 5)
    this.setTimer(
      'refresh',
      async () => {
        if (this.closed) return
        try {
          const token = await this.#options.token()
          if (!this.closed) this.sendJson({ type: 'token', token })
        } catch (error) {
          this.#hooks.fail({ code: 'E_TOKEN_PROVIDER', message: (error as Error).message, retryable: true })
          this.setTimer('refresh', () => this.scheduleRefresh(expiresAt), 5000)
        }
      },
      Math.max(0, Math.min(left - lead, 2 ** 31 - 1)),
    )
  }
}
