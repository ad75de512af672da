import type { FastifyBaseLogger } from 'fastify'
import type { TokenVerifier } from '../auth/tokens.ts'
import type { BridgeConfig } from '../config.ts'
import type { DeviceWriters } from '../kafka/device-writers.ts'
import type { DeviceStateView } from '../kafka/state-view.ts'
import type { TopicCatalog } from '../kafka/topic-catalog.ts'
import type { BridgeMetrics } from '../metrics.ts'
import type { DeliveryService } from '../subscriptions/delivery-service.ts'
import type { BridgeInflight } from './inflight.ts'
import type { ModelSessionHooks } from '../models/distribution.ts'

/** What the WebSocket and REST sides share to get device records into Kafka. */
export interface IngestContext {
  config: BridgeConfig
  bridgeId: string
  verifier: TokenVerifier
  writers: DeviceWriters
  view: DeviceStateView
  catalog: TopicCatalog
  metrics: BridgeMetrics
  delivery: DeliveryService
  inflight: BridgeInflight
  log: FastifyBaseLogger
  /** Model distribution: pushes `model` frames after welcome, takes model-status frames. */
  models?: ModelSessionHooks
  isDraining(): boolean
}
