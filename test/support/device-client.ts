import {
  type AckFrame,
  type ClientFrame,
  type ErrorFrame,
  type ServerFrame,
  SUBPROTOCOL_V1,
  type WelcomeFrame,
} from '@kafka-edge/edge-agent/protocol'
import WebSocket from 'ws'

export interface Closed {
  code: number
  reason: string
}

/**
 * A bare protocol client for tests: sends frames as given and records every
 * frame the bridge sends back, so a test asserts exactly what a device sees.
 */
export class DeviceClient {
  readonly frames: ServerFrame[] = []
  readonly ws: WebSocket
  closed: Closed | undefined
  #waiters: (() => void)[] = []

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data: Buffer) => {
      this.frames.push(JSON.parse(data.toString('utf8')) as ServerFrame)
      this.#wake()
    })
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') }
      this.#wake()
    })
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  static connect(url: string, options: { token?: string; protocols?: string[] } = {}): Promise<DeviceClient> {
    const wsUrl = `${url.replace(/^http/, 'ws')}/v1/ws`
    const ws = new WebSocket(wsUrl, options.protocols ?? [SUBPROTOCOL_V1], {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    })
    return new Promise((resolve, reject) => {
      const client = new DeviceClient(ws)
      ws.once('open', () => resolve(client))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (c: Buffer) => {
          body += c.toString()
        })
        res.on('end', () =>
          reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })),
        )
      })
      ws.once('error', reject)
    })
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Uint8Array, binary = false): void {
    this.ws.send(data, { binary })
  }

  /** Waits until a frame matching `match` arrives (or was already received after index `from`). */
  async waitFor<T extends ServerFrame>(match: (f: ServerFrame) => f is T, timeoutMs = 20_000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.slice(from).find(match)
      if (found) return found
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Sends seqs from..to as JSON records (`make(seq)`) in frames of `batch`, without waiting for acks. */
  sendRange(from: number, to: number, make: (seq: number) => unknown = (seq) => ({ seq }), batch = 10): void {
    for (let seq = from; seq <= to; seq += batch) {
      this.send({ type: 'produce', records: jsonRecords(seq, Math.min(batch, to - seq + 1), make) })
    }
  }

  async hello(token?: string, options: { exact?: boolean } = {}): Promise<WelcomeFrame> {
    this.send({ type: 'hello', ...(token ? { token } : {}), ...(options.exact ? { exact: true } : {}) })
    return this.waitFor((f): f is WelcomeFrame => f.type === 'welcome')
  }

  /** Waits until acks cover every seq up to `seq`. */
  async ackedThrough(seq: number, timeoutMs = 30_000): Promise<AckFrame[]> {
    await this.waitFor((f): f is AckFrame => f.type === 'ack' && f.watermark >= seq, timeoutMs)
    return this.acks()
  }

  acks(): AckFrame[] {
    return this.frames.filter((f): f is AckFrame => f.type === 'ack')
  }

  /** Sends a frame and waits for the error it causes. */
  async sendExpectingError(frame: ClientFrame | Record<string, unknown>, code: string): Promise<ErrorFrame> {
    const from = this.frames.length
    this.send(frame)
    return this.error(code, from)
  }

  async error(code?: string, from = 0): Promise<ErrorFrame> {
    return this.waitFor(
      (f): f is ErrorFrame => f.type === 'error' && (code === undefined || f.code === code),
      20_000,
      from,
    )
  }

  async waitClosed(timeoutMs = 20_000): Promise<Closed> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.closed
  }

  close(): void {
    this.ws.close(1000)
  }
}

/** `count` JSON records starting at seq `from`. */
export function jsonRecords(from: number, count: number, make: (seq: number) => unknown = (seq) => ({ seq })) {
  return Array.from({ length: count }, (_, i) => ({ seq: from + i, value: make(from + i) }))
}

/** The seqs from..to, for comparing with what Kafka holds. */
export function seqRange(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** Where the acks say each seq landed. */
export function offsetsBySeq(acks: AckFrame[]): Map<number, { partition: number; offset: number; duplicate: boolean }> {
  const map = new Map<number, { partition: number; offset: number; duplicate: boolean }>()
  for (const ack of acks) {
    for (const r of ack.ranges) {
      for (let seq = r.from; seq <= r.to; seq++) {
        map.set(seq, {
          partition: r.partition ?? -1,
          offset: (r.offset ?? -1) + (seq - r.from),
          duplicate: !!r.duplicate,
        })
      }
    }
  }
  return map
}
