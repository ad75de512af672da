import { randomUUID } from 'node:crypto'
import {
  type AckRange,
  CloseCodes,
  ErrorCodes,
  Features,
  type HelloFrame,
  type ModelStatusFrame,
  type ProduceFrame,
  produceCount,
  type ServerFrame,
  type RecordsAckFrame,
  type ReplyFrame,
  type SubscribeFrame,
  type TokenFrame,
} from '@kafka-edge/edge-agent/protocol'
import type { WebSocket } from 'ws'
import type { DeviceIdentity } from '../auth/tokens.ts'
import { BridgeError } from '../errors.ts'
import type { IngestContext } from '../ingest/context.ts'
import { ProduceAdmission } from '../ingest/admission.ts'
import { decodeProduce } from '../ingest/records.ts'
import type { DeviceWriter } from '../kafka/device-writer.ts'
import type { DeliveryService } from '../subscriptions/delivery-service.ts'
import type { DeviceSubscription } from '../subscriptions/device-subscription.ts'
import { encodeServerFrame, parseClientFrame } from './frames.ts'
import { TokenExpiry } from './token-expiry.ts'

/** Sessions of this bridge by device: a device has at most one. */
export type SessionRegistry = Map<string, DeviceSession>

// Errors after which the session cannot continue: the socket closes with this code.
const closeCodeOf: Partial<Record<string, number>> = {
  [ErrorCodes.AUTH_REQUIRED]: CloseCodes.UNAUTHORIZED,
  [ErrorCodes.TOKEN_INVALID]: CloseCodes.UNAUTHORIZED,
  [ErrorCodes.TOKEN_EXPIRED]: CloseCodes.TOKEN_EXPIRED,
  [ErrorCodes.SESSION_REPLACED]: CloseCodes.SESSION_REPLACED,
  [ErrorCodes.KAFKA_UNAVAILABLE]: CloseCodes.TRY_AGAIN_LATER,
  [ErrorCodes.INTERNAL]: CloseCodes.INTERNAL_ERROR,
}

/**
 * One device's WebSocket session: authenticates, answers hello with the
 * watermark, turns produce frames into exactly-once writes and acks them.
 * Frames are handled strictly in arrival order; writes are pipelined.
 */
export class DeviceSession {
  readonly id = randomUUID()
  alive = true
  readonly #ws: WebSocket
  readonly #ctx: IngestContext
  readonly #sessions: SessionRegistry
  #identity: DeviceIdentity | undefined
  #writer: DeviceWriter | undefined
  #welcomed = false
  #closed = false
  #chain: Promise<void> = Promise.resolve()
  readonly #admission: ProduceAdmission
  readonly #expiry: TokenExpiry
  #helloTimer: NodeJS.Timeout | undefined
  readonly #subscriptions = new Map<string, DeviceSubscription>()

  constructor(ws: WebSocket, ctx: IngestContext, sessions: SessionRegistry, identity: DeviceIdentity | undefined) {
    this.#ws = ws
    this.#ctx = ctx
    this.#sessions = sessions
    this.#identity = identity
    this.#admission = new ProduceAdmission(ctx, ws)
    this.#expiry = new TokenExpiry(
      () =>
        this.#sendError(
          new BridgeError(ErrorCodes.TOKEN_EXPIRED, 'the token expired; send a token frame before expiry or reconnect'),
        ),
      ctx.config.auth.clockToleranceSec * 1000,
    )
    this.#helloTimer = setTimeout(() => {
      this.#sendError(new BridgeError(ErrorCodes.HELLO_REQUIRED, 'no hello frame arrived in time; send hello first'))
      this.close(CloseCodes.POLICY_VIOLATION, ErrorCodes.HELLO_REQUIRED, 'no hello in time')
    }, ctx.config.auth.helloTimeoutMs)
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary))
    ws.on('pong', () => {
      this.alive = true
    })
    ws.on('close', () => this.#onClose())
    ws.on('error', () => {})
  }

  get deviceId(): string | undefined {
    return this.#identity?.deviceId
  }

  /** The groups of the device's token (model rollouts target them). */
  get groups(): readonly string[] {
    return this.#identity?.groups ?? []
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.alive = true
    const { metrics, config } = this.#ctx
    metrics.bytesReceived.inc({ transport: 'ws' }, data.length)
    if (data.length > config.limits.maxFrameBytes) {
      this.#enqueueError(
        new BridgeError(
          ErrorCodes.FRAME_TOO_LARGE,
          `frame is ${data.length} bytes; the limit is ${config.limits.maxFrameBytes} (limits.maxFrameBytes): send smaller batches`,
        ),
      )
      return
    }
    let parsed: ReturnType<typeof parseClientFrame>
    try {
      parsed = parseClientFrame(data, isBinary)
    } catch (error) {
      this.#enqueueError(error)
      return
    }
    const { frame, binary } = parsed
    switch (frame.type) {
      case 'ping':
        this.send({ type: 'pong', ...(frame.t !== undefined ? { t: frame.t } : {}) })
        return
      case 'hello':
        this.#enqueue(() => this.#hello(frame))
        return
      case 'subscribe':
        this.#enqueue(() => this.#subscribe(frame))
        return
      case 'records-ack':
        this.#enqueue(async () => this.#recordsAck(frame))
        return
      case 'reply':
        this.#enqueue(() => this.#reply(frame))
        return
      case 'model-status':
        this.#enqueue(() => this.#modelStatus(frame))
        return
      case 'token':
        this.#enqueue(() => this.#refresh(frame))
        return
      case 'produce': {
        // Admission happens on arrival, so frames waiting in the queue count
        // against the device's credits too: nothing here grows without bound.
        let release: () => void
        try {
          const count = produceCount(frame)
          this.#ctx.metrics.recordsReceived.inc({ transport: 'ws' }, count)
          release = this.#admission.admit(count, data.length)
        } catch (error) {
          this.#enqueueError(error, frame.id)
          return
        }
        this.#enqueue(() => this.#produce(frame, binary, release), frame.id, release)
        return
      }
    }
  }

  #enqueue(step: () => Promise<void>, frameId?: string, onError?: () => void): void {
    this.#chain = this.#chain.then(step).catch((error: unknown) => {
      onError?.()
      this.#sendError(error, frameId)
    })
  }

  /** Sends an error in order with the answers to frames received before it. */
  #enqueueError(error: unknown, frameId?: string): void {
    this.#enqueue(() => Promise.reject(error), frameId)
  }

  async #hello(frame: HelloFrame): Promise<void> {
    if (this.#welcomed) throw new BridgeError(ErrorCodes.BAD_FRAME, 'hello was already answered in this session')
    if (!this.#identity) {
      if (!frame.token) {
        throw new BridgeError(
          ErrorCodes.AUTH_REQUIRED,
          'send the token in the Authorization header or in the hello frame ("token")',
        )
      }
      this.#identity = await this.#ctx.verifier.verify(frame.token)
    }
    clearTimeout(this.#helloTimer)
    const { deviceId, expiresAt } = this.#identity
    const previous = this.#sessions.get(deviceId)
    this.#sessions.set(deviceId, this)
    previous?.close(
      CloseCodes.SESSION_REPLACED,
      ErrorCodes.SESSION_REPLACED,
      'a newer session of this device replaced this one',
    )

    // A writer this bridge holds knows the exact watermark once its in-flight
    // writes settle. Without one the state view's may lag a move from another
    // bridge: harmless for a device that resends what it holds, but one that
    // dropped records renumbers from the watermark, so it asks for an exact
    // one (hello.exact) and gets a claimed writer first, fencing the old bridge.
    let writer = this.#ctx.writers.peek(deviceId)
    if (!writer && frame.exact) {
      this.#writer ??= this.#ctx.writers.acquire(deviceId)
      writer = this.#writer
    }
    if (writer) {
      await writer.ready().catch(() => {})
      await writer.idle()
    }
    if (frame.exact && (!writer || writer.failure)) {
      throw new BridgeError(
        ErrorCodes.KAFKA_UNAVAILABLE,
        'the exact watermark could not be read from Kafka; reconnect later',
        { retryable: true },
      )
    }
    const watermark = writer && !writer.failure ? writer.committed : this.#ctx.view.watermark(deviceId)
    if (this.#closed) return
    this.#welcomed = true
    this.#ctx.metrics.connectedDevices.inc()
    this.#expiry.schedule(expiresAt)
    const { limits } = this.#ctx.config
    this.send({
      type: 'welcome',
      version: 1,
      deviceId,
      sessionId: this.id,
      watermark,
      limits: {
        maxBatchRecords: limits.maxBatchRecords,
        maxFrameBytes: limits.maxFrameBytes,
        maxRecordBytes: limits.maxRecordBytes,
        credits: { records: limits.creditRecords, bytes: limits.creditBytes },
        ratePerSec: limits.ratePerSec,
        burst: limits.burst,
        heartbeatMs: limits.heartbeatMs,
      },
      tokenExpiresAt: this.#identity.expiresAt,
      features: [Features.PRODUCE_COLUMNS, Features.PRODUCE_COLUMNS_HEADERS],
    })
    this.#ctx.models?.welcomed(this)
  }

  async #modelStatus(frame: ModelStatusFrame): Promise<void> {
    if (!this.#welcomed || !this.#identity) {
      throw new BridgeError(ErrorCodes.HELLO_REQUIRED, 'send hello and wait for welcome before model-status')
    }
    const models = this.#ctx.models
    if (!models) throw new BridgeError(ErrorCodes.MODEL_UNKNOWN, 'this bridge does not distribute models')
    await models.status(this.#identity, frame)
  }

  #delivery(): DeliveryService {
    if (!this.#welcomed || !this.#identity) {
      throw new BridgeError(ErrorCodes.HELLO_REQUIRED, 'send hello and wait for welcome first')
    }
    return this.#ctx.delivery
  }

  async #subscribe(frame: SubscribeFrame): Promise<void> {
    const delivery = this.#delivery()
    const identity = this.#identity as DeviceIdentity
    const topics = frame.topics.filter((t) => !this.#subscriptions.has(t))
    const subscriptions = await delivery.subscribe(identity, topics, (records) =>
      this.send({ type: 'records', records }),
    )
    if (this.#closed) {
      for (const subscription of subscriptions) subscription.close()
      return
    }
    for (const [i, topic] of topics.entries()) this.#subscriptions.set(topic, subscriptions[i] as DeviceSubscription)
    this.send({ type: 'subscribed', topics: [...this.#subscriptions.keys()] })
  }

  #recordsAck(frame: RecordsAckFrame): void {
    const delivery = this.#delivery()
    const deviceId = (this.#identity as DeviceIdentity).deviceId
    for (const { topic, partition, offset } of frame.positions) {
      const next = this.#subscriptions.get(topic)?.ack(partition, BigInt(offset))
      if (next !== undefined) delivery.storePosition(deviceId, topic, partition, next)
    }
  }

  async #reply(frame: ReplyFrame): Promise<void> {
    await this.#delivery().reply((this.#identity as DeviceIdentity).deviceId, frame)
  }

  async #refresh(frame: TokenFrame): Promise<void> {
    if (!this.#welcomed) throw new BridgeError(ErrorCodes.HELLO_REQUIRED, 'send hello before refreshing the token')
    let identity: DeviceIdentity
    try {
      identity = await this.#ctx.verifier.verify(frame.token)
    } catch (error) {
      // The token in force stays valid: report, do not close.
      const refused = error as BridgeError
      this.#sendError(
        new BridgeError(
          ErrorCodes.TOKEN_REFRESH_REFUSED,
          `refreshed token refused (${refused.code}): ${refused.message}`,
        ),
      )
      return
    }
    if (this.#identity && identity.deviceId !== this.#identity.deviceId) {
      throw new BridgeError(
        ErrorCodes.TOKEN_DEVICE_MISMATCH,
        `the refreshed token is for device "${identity.deviceId}", not "${this.#identity.deviceId}"`,
      )
    }
    this.#identity = identity
    this.#expiry.schedule(identity.expiresAt)
    this.send({ type: 'token-accepted', tokenExpiresAt: identity.expiresAt })
  }

  async #produce(frame: ProduceFrame, binary: Buffer | undefined, release: () => void): Promise<void> {
    if (!this.#welcomed || !this.#identity) {
      throw new BridgeError(ErrorCodes.HELLO_REQUIRED, 'send hello and wait for welcome before produce')
    }
    // A closed session writes nothing more: its device may already have a new one.
    if (this.#closed) return release()
    const { config, metrics } = this.#ctx
    const records = await decodeProduce(frame, {
      identity: this.#identity,
      topics: config.topics,
      maxRecordBytes: config.limits.maxRecordBytes,
      catalog: this.#ctx.catalog,
      receivedAt: Date.now(),
      ...(binary ? { binary } : {}),
    })
    if (this.#closed) return release()
    this.#writer ??= this.#ctx.writers.acquire(this.#identity.deviceId)
    const writer = this.#writer
    await writer.ready()
    if (this.#closed) return release()
    const { duplicates, fresh } = writer.accept(records)
    if (duplicates) {
      metrics.recordsDuplicate.inc({ transport: 'ws' }, duplicates.to - duplicates.from + 1)
      this.#ack([duplicates], writer.committed)
    }
    if (fresh.length === 0) return release()
    writer.write(fresh).then(
      (result) => {
        release()
        metrics.recordsAcked.inc({ transport: 'ws' }, fresh.length)
        this.#ack(result.ranges, result.watermark)
      },
      (error: unknown) => {
        release()
        // A failed writer takes no more writes: if the session lives on (a
        // record Kafka refused), its next frame claims the device afresh.
        if (writer.failure && this.#writer === writer) {
          this.#ctx.writers.release(writer)
          this.#writer = undefined
        }
        this.#sendError(error, frame.id, writer)
      },
    )
  }

  #ack(ranges: AckRange[], watermark: number): void {
    this.send({ type: 'ack', ranges, watermark })
  }

  send(frame: ServerFrame): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return
    this.#ws.send(encodeServerFrame(frame))
  }

  /** `writer` says where the device resumes (watermark, nextSeq); the session's own by default. */
  #sendError(error: unknown, frameId?: string, writer = this.#writer): void {
    const bridgeError =
      error instanceof BridgeError
        ? error
        : new BridgeError(ErrorCodes.INTERNAL, 'the bridge failed to handle this frame; it has been logged')
    if (!(error instanceof BridgeError)) this.#ctx.log.error({ err: error, deviceId: this.deviceId }, 'session error')
    this.#ctx.metrics.errors.inc({ code: bridgeError.code })
    this.send({
      type: 'error',
      code: bridgeError.code,
      message: bridgeError.message,
      retryable: bridgeError.retryable,
      ...(frameId !== undefined ? { id: frameId } : {}),
      ...(bridgeError.retryAfterMs !== undefined ? { retryAfterMs: bridgeError.retryAfterMs } : {}),
      ...writer?.resumePoint,
    })
    const closeCode = closeCodeOf[bridgeError.code]
    if (closeCode) this.close(closeCode, bridgeError.code, bridgeError.message)
  }

  /** Closes with a reason: `E_CODE: message`, trimmed to WebSocket's 123-byte limit. */
  close(code: number, errorCode: string, message: string): void {
    if (this.#closed) return
    let reason = `${errorCode}: ${message}`
    while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1)
    this.#ws.close(code, reason)
    this.#onClose()
  }

  /** Resolves once every frame received so far is handled and its writes are committed or failed. */
  async settled(): Promise<void> {
    await this.#chain
    await this.#writer?.idle()
  }

  ping(): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping()
  }

  terminate(): void {
    this.#ws.terminate()
    this.#onClose()
  }

  #onClose(): void {
    if (this.#closed) return
    this.#closed = true
    this.#expiry.cancel()
    clearTimeout(this.#helloTimer)
    const deviceId = this.#identity?.deviceId
    if (deviceId && this.#sessions.get(deviceId) === this) this.#sessions.delete(deviceId)
    for (const subscription of this.#subscriptions.values()) subscription.close()
    if (this.#subscriptions.size > 0) this.#ctx.delivery.flushPositions()
    this.#subscriptions.clear()
    if (this.#welcomed) this.#ctx.metrics.connectedDevices.dec()
    // Writes already queued still commit; the device sees them as duplicates if it resends.
    if (this.#writer) this.#ctx.writers.release(this.#writer)
  }
}
