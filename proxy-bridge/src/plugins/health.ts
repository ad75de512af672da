import type { FastifyInstance } from 'fastify'
import type { KafkaReadiness } from '../kafka/readiness.ts'

/** Liveness answers while the process runs; readiness follows the Kafka connection and shutdown. */
export function healthRoutes(app: FastifyInstance, readiness: KafkaReadiness, isDraining: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    if (isDraining()) return reply.code(503).send({ status: 'draining' })
    if (!readiness.ready)
      return reply.code(503).send({ status: 'not-ready', kafka: readiness.lastError ?? 'not connected yet' })
    return { status: 'ready' }
  })
}
