import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { Admin } from '@platformatic/kafka'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import { TokenVerifier } from './auth/tokens.ts'
import type { BridgeConfig } from './config.ts'
import type { IngestContext } from './ingest/context.ts'
import { BridgeInflight } from './ingest/inflight.ts'
import { DeviceWriters } from './kafka/device-writers.ts'
import { DeliveryService } from './subscriptions/delivery-service.ts'
import { KafkaReadiness } from './kafka/readiness.ts'
import { DeviceStateView } from './kafka/state-view.ts'
import { kafkaErrorSummary } from './kafka/kafka-errors.ts'
import { StateTombstones } from './kafka/state-tombstones.ts'
import { TopicCatalog } from './kafka/topic-catalog.ts'
import { ensureTopics } from './kafka/topics.ts'
import { createMetrics, type BridgeMetrics } from './metrics.ts'
import { healthRoutes } from './plugins/health.ts'
import { metricsRoutes } from './plugins/metrics.ts'
import { requestRoutes } from './plugins/requests.ts'
import { ModelDistribution } from './models/distribution.ts'
import { modelRoutes } from './plugins/models.ts'
import { openApiRoutes } from './openapi.ts'
import { restProduceRoutes } from './plugins/rest-produce.ts'
import { scoringRoutes } from './plugins/scoring.ts'
import { redactAccessToken, topicEventRoutes } from './plugins/topic-events.ts'
import { type WsSessions, wsSessionRoutes } from './plugins/ws-session.ts'

export interface Bridge {
  app: FastifyInstance
  config: BridgeConfig
  readiness: KafkaReadiness
  metrics: BridgeMetrics
  ws: WsSessions
  /** Unique per process: names this instance in claims and logs. */
  id: string
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string
  close(reason?: string): Promise<void>
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
  const count = metadata.topics.get(topic)?.partitionsCount
  if (!count) throw new Error(`topic ${topic} has no partitions yet`)
  return count
}

/**
 * Builds and starts a bridge. Kafka must answer at start (the device-state
 * view is read before devices are served); later outages show in /readyz.
 */
export async function startBridge(config: BridgeConfig): Promise<Bridge> {
  // Probes run every few seconds; logging each would bury the requests that matter.
  const probes = new Set(['/healthz', '/readyz', '/metrics'])
  const app = Fastify({
    logger: {
      level: config.logLevel,
      serializers: {
        req: (req) => ({ method: req.method, url: redactAccessToken(req.url), host: req.host, remoteAddress: req.ip }),
      },
    },
    logController: new LogController({ disableRequestLogging: (req) => probes.has(req.url ?? '') }),
    bodyLimit: config.limits.maxFrameBytes,
  })
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  const brokers = config.kafka.brokers
  const admin = new Admin({ clientId: `${config.kafka.clientId}-admin`, bootstrapBrokers: brokers })
  const readiness = new KafkaReadiness(admin, config.readinessIntervalMs, Object.values(config.topics))
  const metrics = createMetrics()
  let draining = false

  if (config.kafka.createTopics) {
    try {
      const created = await ensureTopics(admin, config.topics, config.kafka.partitions)
      if (created.length) app.log.info({ created }, 'created topics')
    } catch (error) {
      app.log.warn({ err: error }, 'could not create topics yet; /readyz stays 503 until they exist')
    }
  }

  // Made once the state topic's partition count is known, before the view reads (the first expiries).
  let tombstones: StateTombstones | undefined
  const view = new DeviceStateView(
    brokers,
    config.kafka.clientId,
    config.topics.deviceState,
    config.exactlyOnce.idempotencyTtlMs,
    (keys) => tombstones?.write(keys),
  )
  const catalog = new TopicCatalog(admin)
  let writers: DeviceWriters | undefined
  let delivery: DeliveryService | undefined
  const inflight = new BridgeInflight(config.limits.bridgeInflightBytes)
  let ingest: IngestContext | undefined
  const verifier = new TokenVerifier(config.auth)
  if (!verifier.configured)
    app.log.warn('no token keys configured (auth.hs256Secrets, auth.eddsaPublicKeys): every device is refused')
  const models = new ModelDistribution({ config, bridgeId: id, log: app.log, sessions: () => ws.sessions.values() })

  // Devices are served once the device-state view is read; until then (Kafka
  // down at start) upgrades get E_KAFKA_UNAVAILABLE and this keeps retrying.
  const startIngest = async (): Promise<void> => {
    for (;;) {
      if (draining) return
      try {
        const statePartitions = await partitionCount(admin, config.topics.deviceState)
        tombstones ??= new StateTombstones(
          { brokers, clientId: config.kafka.clientId, topic: config.topics.deviceState, partitions: statePartitions },
          (error) =>
            app.log.warn({ err: error }, 'could not delete expired idempotency records from the device-state topic'),
        )
        await view.start()
        await catalog.refresh()
        writers = new DeviceWriters({
          brokers,
          clientId: config.kafka.clientId,
          transactionalIdPrefix: config.exactlyOnce.transactionalIdPrefix,
          bridgeId: id,
          lanes: config.exactlyOnce.lanes,
          stateTopic: config.topics.deviceState,
          statePartitions,
          maxTxnRecords: config.exactlyOnce.maxTxnRecords,
          maxTxnBytes: config.exactlyOnce.maxTxnBytes,
          txnIntervalMs: config.exactlyOnce.txnIntervalMs,
          transactionTimeoutMs: config.exactlyOnce.transactionTimeoutMs,
          idleMs: config.exactlyOnce.claimIdleMs,
          view,
          onCommit: (_records, ms) => metrics.produceLatency.observe(ms / 1000),
          onFence: (ids) => {
            metrics.fenceRounds.inc()
            metrics.fencedIds.inc(ids)
          },
          onAbort: (error) => {
            metrics.transactionsAborted.inc()
            app.log.warn(kafkaErrorSummary(error), 'Kafka transaction aborted')
          },
          ...(config.testFaults ? { faults: config.testFaults } : {}),
        })
        delivery = await DeliveryService.start(config, view, catalog, statePartitions, (error) =>
          app.log.warn({ err: error }, 'delivery reader error'),
        )
        ingest = {
          config,
          bridgeId: id,
          verifier,
          writers,
          view,
          catalog,
          metrics,
          log: app.log,
          models,
          delivery,
          inflight,
          isDraining: () => draining,
        }
        return
      } catch (error) {
        app.log.warn({ err: error }, 'cannot read device state from Kafka yet; retrying')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }
  const ingestStarted = (await readiness.probe()) ? startIngest() : undefined
  await ingestStarted
  const pendingIngest = ingestStarted ?? startIngest()
  const ws = wsSessionRoutes(
    app,
    config,
    () => draining,
    () => ingest,
  )

  restProduceRoutes(
    app,
    () => ingest,
    () => draining,
  )
  openApiRoutes(app)
  requestRoutes(app, () => ingest)
  modelRoutes(app, models, verifier)
  scoringRoutes(app, models, verifier)
  topicEventRoutes(app, config, verifier)
  healthRoutes(app, readiness, () => draining)
  metricsRoutes(app, metrics)
  readiness.start()
  const modelsStarted = models.start(() => draining)

  const url = await app.listen({ host: config.host, port: config.port })
  app.log.info({ url, kafka: brokers, ready: readiness.ready, bridge: id }, 'bridge listening')

  let closing: Promise<void> | undefined
  const close = (reason = 'bridge shutting down') => {
    closing ??= (async () => {
      draining = true
      app.log.info({ reason }, 'draining')
      // Frames already received are written and acked before sockets close.
      let grace: NodeJS.Timeout | undefined
      await Promise.race([
        ws.settled().then(() => writers?.idle()),
        new Promise((resolve) => {
          grace = setTimeout(resolve, config.shutdownGraceMs)
        }),
      ])
      clearTimeout(grace)
      ws.close(reason)
      readiness.stop()
      // What is left gets one more grace. Responses still in flight: a client
      // that stopped reading (or a long poll) would otherwise hold the close
      // until Node's keep-alive timeout (72 s in fastify). The Kafka clients:
      // against a broker that is down each retries for seconds (a lane's
      // transaction for up to transactionTimeoutMs). Leaving them loses
      // nothing: Kafka aborts what they left open, and devices resend.
      let rest: NodeJS.Timeout | undefined
      const graceOver = new Promise<false>((resolve) => {
        rest = setTimeout(() => {
          app.server.closeAllConnections()
          resolve(false)
        }, config.shutdownGraceMs)
      })
      const everything = (async () => {
        await app.close()
        await pendingIngest
        await modelsStarted
        await models.close()
        await writers?.close()
        await delivery?.close()
        await view.close()
        await tombstones?.close()
        await admin.close().catch(() => {})
        return true
      })()
      everything.catch(() => {}) // settles after the grace, if at all
      const closed = await Promise.race([everything, graceOver])
      clearTimeout(rest)
      if (closed) app.log.info('bridge stopped')
      else
        app.log.warn(
          { graceMs: config.shutdownGraceMs },
          'bridge stopped before its Kafka clients closed (Kafka unreachable?)',
        )
    })()
    return closing
  }
  return { app, config, readiness, metrics, ws, id, url, close }
}
