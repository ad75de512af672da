import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The bridge's Prometheus metrics, one registry per bridge (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'kafka_edge_bridge_' })
  return {
    registry,
    connectedDevices: new Gauge({
      name: 'kafka_edge_connected_devices',
      help: 'WebSocket sessions that completed hello',
      registers: [registry],
    }),
    recordsReceived: new Counter({
      name: 'kafka_edge_records_received_total',
      help: 'Records received from devices, before deduplication',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    recordsAcked: new Counter({
      name: 'kafka_edge_records_acked_total',
      help: 'Records committed to Kafka and acked',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    recordsDuplicate: new Counter({
      name: 'kafka_edge_records_duplicate_total',
      help: 'Records Kafka already held (resends), acked without writing',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    bytesReceived: new Counter({
      name: 'kafka_edge_bytes_received_total',
      help: 'Frame and request bytes received from devices',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'kafka_edge_client_errors_total',
      help: 'Errors sent to clients, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: 'kafka_edge_kafka_transaction_seconds',
      help: 'Duration of a Kafka transaction (begin, produce with acks=all, commit)',
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    transactionsAborted: new Counter({
      name: 'kafka_edge_transactions_aborted_total',
      help: 'Kafka transactions aborted after a failure',
      registers: [registry],
    }),
    fenceRounds: new Counter({
      name: 'kafka_edge_fence_rounds_total',
      help: "Rounds of fencing other bridges' transactional ids for claims (one round serves every claim that asked while the previous ran)",
      registers: [registry],
    }),
    fencedIds: new Counter({
      name: 'kafka_edge_fenced_transactional_ids_total',
      help: "Other bridges' transactional ids fenced (InitProducerId) to take devices over",
      registers: [registry],
    }),
  }
}

export type BridgeMetrics = ReturnType<typeof createMetrics>
