// The produce side of the link: reads the outbox from the session's cursor
// into produce frames (produce-frame.ts) within what the welcome allows
// (batch size, frame bytes, credits, rate), keeps up to maxInFlightFrames of
// them unacked, releases the outbox on acks and rewinds on error frames.
// One per link, so the watermark and the acked rate outlive sessions; what is
// in flight is per session and starts afresh at each connect.
import {
  type AckFrame,
  CloseCodes,
  ErrorCodes,
  type ErrorFrame,
  Features,
  type WelcomeFrame,
} from '../../protocol/v1.ts'
import type { Outbox } from '../outbox/outbox.ts'
import type { Backoff } from './backoff.ts'
import type { LinkClock } from './clock.ts'
import type { LinkEvents } from './link.ts'
import { buildProduceFrame, type FrameForms } from './produce-frame.ts'
import { SendRate, Throughput } from './rate.ts'
import type { Session } from './session.ts'

export interface ProducerOptions {
  outbox: Outbox
  clock: LinkClock
  /** The link's reconnect backoff: refused records and reconnects slow down together. */
  backoff: Backoff
  maxInFlightFrames: number
}

export interface ProducerHooks {
  acked(ack: LinkEvents['ack']): void
  fail(error: LinkEvents['error']): void
}

interface InFlight {
  fromSeq: number
  toSeq: number
  records: number
  bytes: number
}

/** What one session has on the wire. */
interface SendWindow {
  session: Session
  /** Set by the welcome: nothing is sent before. */
  rate?: SendRate
  forms?: FrameForms
  /** Next seq to put on the wire. */
  cursor: number
  inFlight: InFlight[]
  /** Frames sent before the last rewind carry an older generation; their errors are stale. */
  generation: number
  frameNo: number
  pausedUntil: number
  wakeAt?: number
}

export class Producer {
  readonly #o: ProducerOptions
  readonly #hooks: ProducerHooks
  readonly #throughput = new Throughput()
  #window: SendWindow | undefined
  #pumping = false
  #watermark = 0

  constructor(options: ProducerOptions, hooks: ProducerHooks) {
    this.#o = options
    this.#hooks = hooks
  }

  /** Highest seq the bridge reported committed. */
  get watermark(): number {
    return this.#watermark
  }

  /** Records sent in the open session and not yet acked. */
  inFlightRecords(): number {
    const w = this.#window
    return w && !w.session.closed ? w.inFlight.reduce((n, f) => n + f.records, 0) : 0
  }

  /** Records acked per second, over the last 10 s. */
  sendRatePerSec(now: number): number {
    return this.#throughput.perSec(now)
  }

  /** A new session is connecting: it has nothing in flight. */
  opened(session: Session): void {
    this.#window = { session, cursor: 0, inFlight: [], generation: 0, frameNo: 0, pausedUntil: 0 }
  }

  /** The session was welcomed: send from `firstSeq` (what outbox.resume returned) within its limits. */
  welcomed(welcome: WelcomeFrame, firstSeq: number): void {
    const w = this.#window
    if (!w) return
    const features = welcome.features ?? []
    const columns = features.includes(Features.PRODUCE_COLUMNS)
    w.forms = { columns, columnHeaders: columns && features.includes(Features.PRODUCE_COLUMNS_HEADERS) }
    w.rate = new SendRate(welcome.limits.ratePerSec, welcome.limits.burst, this.#o.clock.now())
    w.cursor = firstSeq
    this.#watermark = welcome.watermark
  }

  async ack(ack: AckFrame): Promise<void> {
    if (ack.watermark <= this.#watermark) return
    const records = ack.watermark - this.#watermark
    this.#watermark = ack.watermark
    const inFlight = this.#window?.inFlight ?? []
    while (inFlight.length && (inFlight[0] as InFlight).toSeq <= ack.watermark) inFlight.shift()
    this.#throughput.add(records, this.#o.clock.now())
    try {
      await this.#o.outbox.ack(ack.watermark)
    } catch (error) {
      // The records stay in the outbox: acked again as duplicates after a reconnect.
      this.#hooks.fail(outboxFailure(error))
      this.#window?.session.end(4000, 'outbox error')
      return
    }
    this.#hooks.acked({ watermark: ack.watermark, records })
    void this.pump()
  }

  error(error: ErrorFrame): void {
    this.#hooks.fail({ code: error.code, message: error.message, retryable: error.retryable })
    const w = this.#window
    if (!w) return
    const generation = error.id === undefined ? undefined : Number(error.id.split('-')[0])
    // An error about a frame sent before the last rewind says nothing new.
    if (generation !== undefined && generation !== w.generation) return
    if (error.watermark !== undefined && error.watermark > this.#watermark) {
      void this.ack({ type: 'ack', ranges: [], watermark: error.watermark })
    }
    if (error.id === undefined) return // Session-level errors end with a close, handled there.
    // The bridge rejected this frame whole and every frame after it: send again from nextSeq.
    const nextSeq = error.nextSeq ?? this.#watermark + 1
    w.generation++
    w.inFlight = w.inFlight.filter((f) => f.toSeq < nextSeq)
    w.cursor = nextSeq
    // The bridge says how long to wait (rate limit, shutdown, Kafka outage);
    // credits and seq errors resend at once; a record the bridge will never
    // take (topic denied, too large) is retried slowly, and reported.
    const resendNow = error.retryable || error.code === ErrorCodes.SEQ_GAP || error.code === ErrorCodes.SEQ_BACKWARDS
    const wait = error.retryAfterMs ?? (resendNow ? 0 : this.#o.backoff.next())
    w.pausedUntil = this.#o.clock.now() + wait
    if (wait > 0) this.#wakeAt(w, w.pausedUntil)
    else void this.pump()
  }

  /** Sends what the outbox holds until it is empty or a limit says wait; one pump at a time. */
  async pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    const { outbox, clock } = this.#o
    try {
      for (;;) {
        const w = this.#window
        const s = w?.session
        const limits = s?.welcome?.limits
        if (!w || !s || !limits || !w.rate || !w.forms || s.closed) return
        const now = clock.now()
        if (now < w.pausedUntil) {
          // Timers may fire a little before the wall clock says so: come back then.
          this.#wakeAt(w, w.pausedUntil)
          return
        }
        if (w.inFlight.length >= this.#o.maxInFlightFrames) return
        const usedRecords = w.inFlight.reduce((n, f) => n + f.records, 0)
        const usedBytes = w.inFlight.reduce((n, f) => n + f.bytes, 0)
        const maxRecords = Math.min(limits.maxBatchRecords, limits.credits.records - usedRecords)
        const maxBytes = Math.min(limits.maxFrameBytes, limits.credits.bytes - usedBytes)
        if (maxRecords <= 0 || maxBytes <= 256) return
        if (w.cursor > outbox.durableSeq) return
        const want = Math.min(maxRecords, outbox.durableSeq - w.cursor + 1)
        const tokens = w.rate.available(now)
        if (tokens < want && tokens < 100) {
          // Wait for a frame's worth of tokens rather than trickle single records.
          this.#wakeAt(w, now + Math.max(5, w.rate.waitFor(Math.min(want, 100), now)))
          return
        }
        const cursor = w.cursor
        const entries = await outbox.peek(cursor, Math.min(want, tokens), maxBytes)
        // The session ended during the read: the next one, welcomed meanwhile, found this pump
        // running and left its sending to it.
        if (s.closed || this.#window !== w) continue
        if (w.cursor !== cursor) continue // An error frame rewound the session meanwhile.
        const first = entries[0]
        if (!first) return
        if (first.seq !== cursor) {
          // Drops removed records this session was about to send: a new session
          // renumbers what is left (Outbox.resume), so reconnect at once.
          s.end(CloseCodes.NORMAL, 'outbox dropped unsent records; resuming')
          return
        }
        const frame = buildProduceFrame(entries, `${w.generation}-${++w.frameNo}`, maxBytes, w.forms)
        if (!frame) {
          if (w.inFlight.length) return // Wait for credits to come back.
          this.#hooks.fail({
            code: ErrorCodes.RECORD_TOO_LARGE,
            message: `record ${first.seq} does not fit in one frame of ${maxBytes} bytes`,
            retryable: false,
          })
          w.pausedUntil = now + this.#o.backoff.next()
          this.#wakeAt(w, w.pausedUntil)
          return
        }
        w.rate.take(frame.count)
        w.inFlight.push({ fromSeq: frame.fromSeq, toSeq: frame.toSeq, records: frame.count, bytes: frame.data.length })
        w.cursor = frame.toSeq + 1
        s.socket.send(frame.data)
      }
    } catch (error) {
      this.#hooks.fail({ code: 'E_LINK', message: (error as Error).message, retryable: true })
      this.#window?.session.end(4000, 'link error')
    } finally {
      this.#pumping = false
    }
  }

  /** One pending wake-up per session, at `at` or a little after. */
  #wakeAt(w: SendWindow, at: number): void {
    if (w.wakeAt !== undefined && w.wakeAt <= at) return
    w.wakeAt = at
    w.session.setTimer(
      'wake',
      () => {
        w.wakeAt = undefined
        void this.pump()
      },
      Math.max(1, at - this.#o.clock.now() + 1),
    )
  }
}

/** An outbox that failed (a full disk, a closed store), as the link reports it. */
export function outboxFailure(error: unknown): LinkEvents['error'] {
  const code = (error as { code?: unknown }).code
  return {
    code: typeof code === 'string' && code.startsWith('E_') ? code : 'E_OUTBOX',
    message: `the outbox failed: ${(error as Error).message}`,
    retryable: true,
  }
}
