// Simulated devices speaking kafka-edge.v1 over WebSocket, for the ingest benchmark.
import type { AckFrame, ErrorFrame, ServerFrame, WelcomeFrame } from '@kafka-edge/edge-agent/protocol'
import { encodeBinaryFrame, Features, SUBPROTOCOL_V1 } from '@kafka-edge/edge-agent/protocol'
import WebSocket from 'ws'

export const RECORD_BYTES = 200

/**
 * The JSON text of a device's record `seq`: exactly RECORD_BYTES bytes, with
 * no whitespace and keys in a fixed order, so the bridge's JSON.stringify of
 * the parsed value gives back the same bytes the direct producer writes.
 */
export function recordJson(deviceId: string, seq: number): string {
  const head = `{"device":"${deviceId}","seq":${seq},"temp":21.5,"vibration":0.031,"status":"ok","pad":"`
  const tail = '"}'
  const padLength = RECORD_BYTES - head.length - tail.length
  if (padLength < 0) throw new Error('device id too long for a 200-byte record')
  return head + 'x'.repeat(padLength) + tail
}

/** BENCH_HEADERS=trace gives every record a W3C `traceparent` header of its own (55 bytes); default none. */
export type HeaderKind = 'none' | 'trace'
export const headerKind: HeaderKind = process.env.BENCH_HEADERS === 'trace' ? 'trace' : 'none'

/** Record `seq`'s traceparent: a trace id of its own, as a traced device would send. */
export function traceparent(seq: number): string {
  return `00-${seq.toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`
}

/** A produce frame with records from..from+count-1, built by concatenation (cheap for the load generator). */
export function produceFrame(deviceId: string, from: number, count: number, kind = headerKind): string {
  const parts: string[] = []
  for (let seq = from; seq < from + count; seq++) {
    const headers = kind === 'trace' ? `,"headers":{"traceparent":"${traceparent(seq)}"}` : ''
    parts.push(`{"seq":${seq},"value":${recordJson(deviceId, seq)}${headers}}`)
  }
  return `{"type":"produce","records":[${parts.join(',')}]}`
}

/**
 * The same records as a binary produce frame (protocol §6.3), the way the
 * edge agent sends them: a JSON header describing the records as columns
 * (their sizes, and their timestamps as deltas), then the values' bytes,
 * which the bridge slices out instead of parsing and re-encoding.
 */
export function produceBinaryFrame(
  deviceId: string,
  from: number,
  count: number,
  timestamp: number,
  kind = headerKind,
): Uint8Array {
  const values: string[] = []
  for (let seq = from; seq < from + count; seq++) values.push(recordJson(deviceId, seq))
  const sizes = `,${RECORD_BYTES}`.repeat(count - 1)
  const deltas = ',0'.repeat(count - 1)
  let headers = ''
  if (kind === 'trace') {
    const each: string[] = []
    for (let seq = from; seq < from + count; seq++) each.push(`{"traceparent":"${traceparent(seq)}"}`)
    headers = `,"headers":[${each.join(',')}]`
  }
  const header = `{"type":"produce","columns":{"seq":${from},"sizes":[${RECORD_BYTES}${sizes}],"timestampDeltas":[${timestamp}${deltas}]${headers}}}`
  return encodeBinaryFrame(header, [Buffer.from(values.join(''))])
}

/** BENCH_FRAMES=text sends JSON text frames (what third-party clients may send) instead. */
export const frameKind = process.env.BENCH_FRAMES === 'text' ? 'text' : 'binary'

interface InFlight {
  lastSeq: number
  records: number
  bytes: number
  sentAt: number
}

export interface DeviceStats {
  /** Records acked as new (not duplicate) since the counter was last reset. */
  acked: number
  errors: Map<string, number>
}

/**
 * One device: pipelines produce frames within its credits (welcome.limits.credits)
 * and measures frame latency (send → the ack covering its last record).
 */
export class BenchDevice {
  readonly deviceId: string
  ws!: WebSocket
  welcome!: WelcomeFrame
  nextSeq = 1
  /** Highest seq acked (the device's view of its watermark). */
  ackedSeq = 0
  ackedTotal = 0
  failed: string | undefined
  readonly #inflight: InFlight[] = []
  #inflightRecords = 0
  #inflightBytes = 0
  #mode: 'idle' | 'max' | 'rate' = 'idle'
  #timer: NodeJS.Timeout | undefined
  #onDrained: (() => void) | undefined
  readonly batch: number
  readonly stats: DeviceStats
  /** Frames acked while `recordLatency` is set: when (performance.now()) and their latency (ms). */
  acked: { at: number; latency: number }[] = []
  recordLatency = false
  /** Frames the rate-limited sender could not send on time for lack of credits. */
  late = 0

  constructor(deviceId: string, batch: number, stats: DeviceStats) {
    this.deviceId = deviceId
    this.batch = batch
    this.stats = stats
  }

  async connect(url: string, token: string): Promise<void> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, [SUBPROTOCOL_V1], {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    })
    this.ws = ws
    this.welcome = await new Promise<WelcomeFrame>((resolve, reject) => {
      ws.once('error', reject)
      ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)))
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello' })))
      ws.once('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as ServerFrame
        if (frame.type === 'welcome') resolve(frame)
        else reject(new Error(`expected welcome, got ${data.toString('utf8')}`))
      })
    })
    ws.removeAllListeners('error')
    ws.removeAllListeners('close')
    ws.on('error', () => {})
    ws.on('close', (code, reason) => {
      if (this.#mode !== 'idle') this.failed ??= `closed ${code} ${reason.toString()}`
      this.#stopTimer()
      this.#onDrained?.()
    })
    if (frameKind === 'binary' && !this.welcome.features?.includes(Features.PRODUCE_COLUMNS)) {
      throw new Error('the bridge does not offer produce-columns (protocol §6.3); run with BENCH_FRAMES=text')
    }
    if (
      frameKind === 'binary' &&
      headerKind !== 'none' &&
      !this.welcome.features?.includes(Features.PRODUCE_COLUMNS_HEADERS)
    ) {
      throw new Error('the bridge does not offer produce-columns-headers (protocol §6.3); run with BENCH_FRAMES=text')
    }
    this.nextSeq = this.welcome.watermark + 1
    this.ackedSeq = this.welcome.watermark
    ws.on('message', (data: Buffer) => this.#onFrame(JSON.parse(data.toString('utf8')) as ServerFrame))
  }

  #onFrame(frame: ServerFrame): void {
    if (frame.type === 'ack') this.#onAck(frame)
    else if (frame.type === 'error') this.#onError(frame)
  }

  #onAck(ack: AckFrame): void {
    let maxTo = 0
    for (const range of ack.ranges) {
      if (range.to > maxTo) maxTo = range.to
      if (!range.duplicate) {
        const n = range.to - range.from + 1
        this.stats.acked += n
        this.ackedTotal += n
      }
    }
    if (maxTo > this.ackedSeq) this.ackedSeq = maxTo
    const now = performance.now()
    while (this.#inflight.length > 0 && (this.#inflight[0] as InFlight).lastSeq <= maxTo) {
      const done = this.#inflight.shift() as InFlight
      this.#inflightRecords -= done.records
      this.#inflightBytes -= done.bytes
      if (this.recordLatency) this.acked.push({ at: now, latency: now - done.sentAt })
    }
    if (this.#mode === 'max') this.#pump()
    if (this.#inflight.length === 0) this.#onDrained?.()
  }

  #onError(error: ErrorFrame): void {
    this.stats.errors.set(error.code, (this.stats.errors.get(error.code) ?? 0) + 1)
    // A rejected frame breaks the device's sequence; this benchmark does not resync, it reports.
    this.failed ??= `${error.code}: ${error.message}`
    this.#mode = 'idle'
    this.#stopTimer()
  }

  #send(): boolean {
    const { credits } = this.welcome.limits
    // Records are checked before building: a frame built and then held back is CPU taken from the bridge and Kafka.
    if (this.#inflightRecords + this.batch > credits.records) return false
    const frame =
      frameKind === 'binary'
        ? produceBinaryFrame(this.deviceId, this.nextSeq, this.batch, Date.now())
        : produceFrame(this.deviceId, this.nextSeq, this.batch)
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length
    if (this.#inflightBytes + bytes > credits.bytes) return false
    this.nextSeq += this.batch
    this.#inflight.push({ lastSeq: this.nextSeq - 1, records: this.batch, bytes, sentAt: performance.now() })
    this.#inflightRecords += this.batch
    this.#inflightBytes += bytes
    this.ws.send(frame)
    return true
  }

  #pump(): void {
    while (this.#mode === 'max' && !this.failed && this.#send()) {
      // Fill the credit window.
    }
  }

  /** Sends as fast as credits allow. */
  startMax(): void {
    this.#mode = 'max'
    this.#pump()
  }

  /** Sends one frame every `intervalMs`, on a fixed schedule starting after `offsetMs`. */
  startRate(intervalMs: number, offsetMs: number): void {
    this.#mode = 'rate'
    const start = performance.now() + offsetMs
    let n = 0
    const tick = () => {
      if (this.#mode !== 'rate' || this.failed) return
      if (!this.#send()) this.late++
      n++
      this.#timer = setTimeout(tick, Math.max(0, start + n * intervalMs - performance.now()))
    }
    this.#timer = setTimeout(tick, offsetMs)
  }

  #stopTimer(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Stops sending and resolves once every frame sent has been acked (or the socket closed). */
  stop(): Promise<void> {
    this.#mode = 'idle'
    this.#stopTimer()
    if (this.#inflight.length === 0 || this.ws.readyState !== WebSocket.OPEN) return Promise.resolve()
    return new Promise((resolve) => {
      this.#onDrained = () => {
        if (this.#inflight.length === 0 || this.ws.readyState !== WebSocket.OPEN) {
          this.#onDrained = undefined
          resolve()
        }
      }
    })
  }

  get inflightFrames(): number {
    return this.#inflight.length
  }

  close(): void {
    this.#mode = 'idle'
    this.#stopTimer()
    this.ws?.close(1000)
  }
}
