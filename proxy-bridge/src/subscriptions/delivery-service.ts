import { randomUUID } from 'node:crypto'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import {
  type DeliveredRecord,
  type ReplyFrame,
  RequestHeaders,
  type RequestRecord,
} from '@kafka-edge/edge-agent/protocol/delivery'
import { type MessageToProduce, ProduceAcks, Producer } from '@platformatic/kafka'
import type { DeviceIdentity } from '../auth/tokens.ts'
import type { BridgeConfig } from '../config.ts'
import { BridgeError } from '../errors.ts'
import { LogReader } from '../kafka/log-reader.ts'
import type { DeviceStateView } from '../kafka/state-view.ts'
import type { TopicCatalog } from '../kafka/topic-catalog.ts'
import { maySubscribe } from '../auth/topic-acl.ts'
import { addressesOf } from './addressing.ts'
import { DeviceSubscription } from './device-subscription.ts'
import { PositionStore } from './positions.ts'
import { ReplyTail, type ReplyValue } from './reply-tail.ts'
import { TopicFanout } from './topic-fanout.ts'
import { positionsKey } from '../kafka/device-state.ts'

/**
 * Kafka → device, for one bridge: a fan-out per subscribed topic, catch-up
 * reads from each device's stored position, acked positions written back to
 * Kafka, and request/reply with correlation ids.
 */
export class DeliveryService {
  readonly #config: BridgeConfig
  readonly #view: DeviceStateView
  readonly #catalog: TopicCatalog
  /** Catch-up reads of device subscriptions (no long polls: maxWaitMs 0). */
  readonly #reader: LogReader
  /** The reply tail's own connection (see #tailReader). */
  readonly #replyReader: LogReader
  readonly #tailReaders: LogReader[] = []
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #positions: PositionStore
  readonly replies: ReplyTail
  readonly #fanouts = new Map<string, Promise<TopicFanout>>()
  readonly #queued: {
    messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[]
    resolve: () => void
    reject: (error: unknown) => void
  }[] = []
  #sending = false
  #log: (error: unknown) => void

  private constructor(
    config: BridgeConfig,
    view: DeviceStateView,
    catalog: TopicCatalog,
    statePartitions: number,
    log: (e: unknown) => void,
  ) {
    this.#config = config
    this.#view = view
    this.#catalog = catalog
    this.#log = log
    const { brokers, clientId } = config.kafka
    this.#reader = new LogReader(brokers, `${clientId}-delivery`)
    this.#replyReader = this.#tailReader('replies')
    this.#producer = new Producer({
      clientId: `${clientId}-delivery`,
      bootstrapBrokers: brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      producerId: -1n,
      producerEpoch: -1,
    })
    this.#positions = new PositionStore(
      (messages) => this.#send(messages),
      config.topics.deviceState,
      statePartitions,
      config.delivery.positionFlushMs,
    )
    this.replies = new ReplyTail(config.delivery.replyKeepMs)
  }

  static async start(
    config: BridgeConfig,
    view: DeviceStateView,
    catalog: TopicCatalog,
    statePartitions: number,
    log: (e: unknown) => void,
  ): Promise<DeliveryService> {
    const service = new DeliveryService(config, view, catalog, statePartitions, log)
    await service.replies.start(service.#replyReader, config.topics.replies)
    return service
  }

  /**
   * One send at a time: the idempotent producer numbers a batch when its
   * answer arrives, so two batches in flight to one partition could share
   * sequence numbers and the broker would drop the second as a duplicate.
   * Messages queued while a send is in flight go out together in the next
   * one (group commit): at hundreds of requests and replies per second, one
   * Kafka round trip per message made each wait behind all the others.
   */
  #send(messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ messages, resolve, reject })
      if (!this.#sending) void this.#drain()
    })
  }

  async #drain(): Promise<void> {
    this.#sending = true
    while (this.#queued.length > 0) {
      const batch = this.#queued.splice(0)
      try {
        await this.#producer.send({ messages: batch.flatMap((b) => b.messages) })
        for (const b of batch) b.resolve()
      } catch (error) {
        for (const b of batch) b.reject(error)
      }
    }
    this.#sending = false
  }

  /**
   * A connection of its own for each long-polling tail. A broker answers the
   * requests of one connection in order, so tails sharing one would wait out
   * each other's fetch wait (up to maxWaitMs) before their own fetch even
   * starts: a request record arriving while the reply tail's fetch waited on
   * the idle replies topic sat there for up to 100 ms (bench `reqreply`).
   */
  #tailReader(name: string): LogReader {
    const { brokers, clientId } = this.#config.kafka
    const reader = new LogReader(brokers, `${clientId}-${name}`)
    this.#tailReaders.push(reader)
    return reader
  }

  #fanout(topic: string): Promise<TopicFanout> {
    let fanout = this.#fanouts.get(topic)
    if (!fanout) {
      fanout = TopicFanout.start(this.#tailReader('fanout'), topic, this.#log)
      fanout.catch(() => this.#fanouts.delete(topic))
      this.#fanouts.set(topic, fanout)
    }
    return fanout
  }

  /** Starts delivering each topic to the device; refuses topics the token does not open or Kafka lacks. */
  async subscribe(
    identity: DeviceIdentity,
    topics: string[],
    deliver: (records: DeliveredRecord[]) => void,
  ): Promise<DeviceSubscription[]> {
    for (const topic of topics) {
      if (!maySubscribe(identity, topic, this.#config.topics)) {
        throw new BridgeError(ErrorCodes.TOPIC_DENIED, `topic "${topic}" is not readable with this device's token`)
      }
      if (!(await this.#catalog.exists(topic))) {
        throw new BridgeError(ErrorCodes.TOPIC_UNKNOWN, `topic "${topic}" does not exist in Kafka`)
      }
    }
    if (topics.length === 0) return []
    // Positions another bridge stored just before this device moved here must be
    // seen. If the view cannot catch up, stale positions only redeliver (at least once).
    await this.#view.caughtUp().catch(() => {})
    const subscriptions: DeviceSubscription[] = []
    for (const topic of topics) {
      const fanout = await this.#fanout(topic)
      const partitions = await this.#reader.partitions(topic)
      const stored = this.#view.positions(positionsKey(identity.deviceId, topic))
      const lookback = stored
        ? []
        : await this.#reader.offsetsForTime(topic, Date.now() - this.#config.delivery.lookbackMs)
      const ends = stored ? [] : await this.#reader.endOffsets(topic)
      const start = new Map<number, bigint>()
      for (let p = 0; p < partitions; p++) {
        const from = stored?.[String(p)]
        const byTime = lookback[p]
        start.set(
          p,
          from !== undefined ? BigInt(from) : byTime !== undefined && byTime >= 0n ? byTime : (ends[p] ?? 0n),
        )
      }
      const subscription = new DeviceSubscription({
        topic,
        partitions,
        addresses: addressesOf(identity),
        reader: this.#reader,
        fanout,
        start,
        maxUnacked: this.#config.delivery.maxUnacked,
        deliver,
      })
      subscription.start()
      subscriptions.push(subscription)
    }
    return subscriptions
  }

  /** Stores an acked position (after `offset`) of a device in Kafka. */
  storePosition(deviceId: string, topic: string, partition: number, next: bigint): void {
    const known = this.#view.positions(positionsKey(deviceId, topic)) ?? {}
    this.#positions.record(deviceId, topic, partition, next, known)
  }

  /** Writes pending positions now (a device left: its next bridge should start where it stopped). */
  flushPositions(): void {
    void this.#positions.flush()
  }

  /** Writes a request record to the commands topic; returns its correlation id. */
  async sendRequest(deviceId: string, request: RequestRecord['request'], timeoutMs: number): Promise<string> {
    const correlationId = randomUUID()
    const value: RequestRecord = {
      correlationId,
      replyTopic: this.#config.topics.replies,
      expiresAt: Date.now() + timeoutMs,
      request,
    }
    await this.#send([
      {
        topic: this.#config.topics.commands,
        key: Buffer.from(deviceId),
        value: Buffer.from(JSON.stringify(value)),
        headers: new Map([
          [Buffer.from(RequestHeaders.CORRELATION_ID), Buffer.from(correlationId)],
          [Buffer.from(RequestHeaders.REPLY_TOPIC), Buffer.from(this.#config.topics.replies)],
        ]),
      },
    ])
    return correlationId
  }

  /** A device's reply goes to the replies topic, keyed by correlation id, whichever bridge asked. */
  async reply(deviceId: string, frame: ReplyFrame): Promise<void> {
    const value: ReplyValue = {
      correlationId: frame.correlationId,
      deviceId,
      ok: frame.ok,
      ...(frame.result !== undefined ? { result: frame.result } : {}),
      ...(frame.error ? { error: frame.error } : {}),
      at: Date.now(),
    }
    await this.#send([
      {
        topic: this.#config.topics.replies,
        key: Buffer.from(frame.correlationId),
        value: Buffer.from(JSON.stringify(value)),
      },
    ])
  }

  async close(): Promise<void> {
    await this.#positions.flush()
    await Promise.all([...this.#fanouts.values()].map(async (f) => (await f.catch(() => undefined))?.stop()))
    await this.replies.stop()
    await this.#producer.close().catch(() => {})
    await this.#reader.close()
    await Promise.all(this.#tailReaders.map((r) => r.close()))
  }
}
