import type { FastifyInstance } from 'fastify'
import type { BridgeMetrics } from '../metrics.ts'

export function metricsRoutes(app: FastifyInstance, metrics: BridgeMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
}
