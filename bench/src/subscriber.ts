// A simulated device that subscribes to the commands topic (docs/protocol.md
// §15-16): acks what it is delivered, answers request records with `reply`
// frames, and measures delivery lag from the send time in the record value.
import type { RecordsFrame } from '@kafka-edge/edge-agent/protocol/delivery'
import { type ServerFrame, SUBPROTOCOL_V1 } from '@kafka-edge/edge-agent/protocol'
import WebSocket from 'ws'

const CORRELATION_ID = 'kafka-edge.correlation-id'

export interface SubscriberHooks {
  /** A request record reached the device (bench clock, ms). */
  onRequest?(correlationId: string, at: number): void
  /** A plain record addressed to the device, with its lag (ms) from the `t` in its value. */
  onRecord?(lagMs: number): void
}

export class BenchSubscriber {
  readonly deviceId: string
  ws!: WebSocket
  failed: string | undefined
  closing = false
  readonly #hooks: SubscriberHooks

  constructor(deviceId: string, hooks: SubscriberHooks) {
    this.deviceId = deviceId
    this.#hooks = hooks
  }

  async connect(url: string, token: string, topic: string): Promise<void> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, [SUBPROTOCOL_V1], {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    })
    this.ws = ws
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject)
      ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)))
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello' })))
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as ServerFrame | { type: 'subscribed' }
        if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }))
        else if (frame.type === 'subscribed') resolve()
        else if (frame.type === 'error') reject(new Error(`${frame.code}: ${frame.message}`))
      })
    })
    ws.removeAllListeners('error')
    ws.removeAllListeners('close')
    ws.removeAllListeners('message')
    ws.on('error', () => {})
    ws.on('close', (code, reason) => {
      if (!this.closing) this.failed ??= `closed ${code} ${reason.toString()}`
    })
    ws.on('message', (data: Buffer) => this.#onFrame(data))
  }

  #onFrame(data: Buffer): void {
    const now = Date.now()
    const frame = JSON.parse(data.toString('utf8')) as ServerFrame | RecordsFrame
    if (frame.type === 'error') {
      this.failed ??= `${frame.code}: ${frame.message}`
      return
    }
    if (frame.type !== 'records') return
    const last = new Map<string, { topic: string; partition: number; offset: number }>()
    for (const record of frame.records) {
      last.set(`${record.topic}/${record.partition}`, {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      })
      const correlationId = record.headers[CORRELATION_ID]
      if (correlationId) {
        this.#hooks.onRequest?.(correlationId, now)
        const { request } = JSON.parse(record.value ?? '{}') as { request?: { input?: { x?: number } } }
        this.ws.send(
          JSON.stringify({ type: 'reply', correlationId, ok: true, result: { y: (request?.input?.x ?? 0) * 2 } }),
        )
      } else if (this.#hooks.onRecord && record.value) {
        const sent = (JSON.parse(record.value) as { t?: number }).t
        if (typeof sent === 'number') this.#hooks.onRecord(now - sent)
      }
    }
    this.ws.send(JSON.stringify({ type: 'records-ack', positions: [...last.values()] }))
  }

  close(): void {
    this.closing = true
    this.ws?.close()
  }
}
