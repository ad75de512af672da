import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import type { IngestContext } from './context.ts'
import { Credits, RateLimiter } from './flow-control.ts'

/** What pauses a device's socket while the bridge as a whole holds too much. */
export interface Backpressure {
  pause(): void
  resume(): void
}

/** What admission reads of the bridge. */
export type AdmissionContext = Pick<IngestContext, 'config' | 'inflight' | 'isDraining'>

/**
 * One device's gate for produce frames, checked on arrival: the bridge not
 * draining, the batch limit, the device's rate and its credits, and the
 * bridge-wide bytes in flight. Frames waiting in the session's queue hold
 * their credits too, so nothing a device sends grows without bound.
 */
export class ProduceAdmission {
  readonly #ctx: AdmissionContext
  readonly #backpressure: Backpressure
  readonly #credits: Credits
  readonly #rate: RateLimiter

  constructor(ctx: AdmissionContext, backpressure: Backpressure) {
    this.#ctx = ctx
    this.#backpressure = backpressure
    const { limits } = ctx.config
    this.#credits = new Credits(limits.creditRecords, limits.creditBytes)
    this.#rate = new RateLimiter(limits.ratePerSec, limits.burst)
  }

  /** Admits `count` records of `bytes`, or throws the error to send; returns what gives the credits back (once). */
  admit(count: number, bytes: number): () => void {
    const { config, inflight } = this.#ctx
    const { limits } = config
    if (this.#ctx.isDraining()) {
      // The socket closes within the grace: sending again before then only gets this error again.
      throw new BridgeError(ErrorCodes.SHUTTING_DOWN, 'the bridge is shutting down; resend after reconnecting', {
        retryable: true,
        retryAfterMs: config.shutdownGraceMs,
      })
    }
    if (count > limits.maxBatchRecords) {
      throw new BridgeError(
        ErrorCodes.BATCH_TOO_LARGE,
        `batch has ${count} records; the limit is ${limits.maxBatchRecords} (welcome.limits.maxBatchRecords)`,
      )
    }
    const rate = this.#rate.take(count)
    if (!rate.ok) {
      throw new BridgeError(ErrorCodes.RATE_LIMITED, `over ${limits.ratePerSec} records/s; slow down`, {
        retryable: true,
        retryAfterMs: rate.retryAfterMs,
      })
    }
    if (!this.#credits.tryTake(count, bytes)) {
      throw new BridgeError(
        ErrorCodes.CREDITS_EXCEEDED,
        `more than ${limits.creditRecords} records or ${limits.creditBytes} bytes unacked; wait for acks before sending more`,
        { retryable: true },
      )
    }
    if (inflight.add(bytes)) {
      this.#backpressure.pause()
      inflight.whenDrained(() => this.#backpressure.resume())
    }
    let released = false
    return () => {
      if (released) return
      released = true
      this.#credits.give(count, bytes)
      inflight.remove(bytes)
    }
  }
}
