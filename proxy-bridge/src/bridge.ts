import { Admin } from '@platformatic/kafka'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { BridgeConfig } from './config.ts'
import { KafkaReadiness } from './kafka/readiness.ts'
import { ensureTopics } from './kafka/topics.ts'
import { healthRoutes } from './plugins/health.ts'

export interface Bridge {
  app: FastifyInstance
  config: BridgeConfig
  readiness: KafkaReadiness
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string
  close(reason?: string): Promise<void>
}

/** Builds and starts a bridge. Kafka being down is not fatal: /readyz says so until it comes back. */
export async function startBridge(config: BridgeConfig): Promise<Bridge> {
  // Probes run every few seconds; logging each would bury the requests that matter.
  const probes = new Set(['/healthz', '/readyz', '/metrics'])
  const app = Fastify({
    logger: { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: (req) => probes.has(req.url ?? '') }),
  })
  const admin = new Admin({ clientId: `${config.kafka.clientId}-admin`, bootstrapBrokers: config.kafka.brokers })
  const readiness = new KafkaReadiness(admin, config.readinessIntervalMs, Object.values(config.topics))
  let draining = false

  if (config.kafka.createTopics) {
    try {
      const created = await ensureTopics(admin, config.topics, config.kafka.partitions)
      if (created.length) app.log.info({ created }, 'created topics')
    } catch (error) {
      app.log.warn({ err: error }, 'could not create topics yet; /readyz stays 503 until they exist')
    }
  }

  healthRoutes(app, readiness, () => draining)
  await readiness.probe()
  readiness.start()

  const url = await app.listen({ host: config.host, port: config.port })
  app.log.info({ url, kafka: config.kafka.brokers, ready: readiness.ready }, 'bridge listening')

  let closing: Promise<void> | undefined
  const close = (reason = 'bridge shutting down') => {
    closing ??= (async () => {
      draining = true
      app.log.info({ reason }, 'draining')
      readiness.stop()
      await app.close()
      await admin.close().catch(() => {})
    })()
    return closing
  }
  return { app, config, readiness, url, close }
}
