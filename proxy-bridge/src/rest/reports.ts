import type { BridgeError } from '../errors.ts'
import { httpStatusOf } from '../errors.ts'
import type { RestRecord } from './confluent-records.ts'
import type { Delivery } from './request-writer.ts'

/** Confluent's error body, plus our precise code: `{error_code, message, code}`. */
export interface ErrorBody {
  error_code: number
  message: string
  code: string
}

export function errorBody(error: BridgeError): ErrorBody {
  return { error_code: httpStatusOf[error.code], message: error.message, code: error.code }
}

/** A v3 delivery report for a record Kafka committed. */
export interface DeliveryReport {
  error_code: 200
  cluster_id: string
  topic_name: string
  partition_id: number
  offset: number
  timestamp: string
  key: { type: 'BINARY'; size: number }
  value: { type: string; size: number }
}

export function deliveryReport(
  clusterId: string,
  topic: string,
  deviceId: string,
  record: RestRecord,
  delivery: Delivery,
): DeliveryReport {
  return {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: delivery.partition,
    offset: delivery.offset,
    timestamp: new Date(delivery.timestamp).toISOString(),
    // The key written is the device id, whatever the client sent.
    key: { type: 'BINARY', size: Buffer.byteLength(deviceId, 'utf8') },
    value: { type: record.valueType, size: record.value.length },
  }
}

/** v2's answer: one entry per record, in request order. */
export function v2Response(deliveries: Delivery[]) {
  return {
    key_schema_id: null,
    value_schema_id: null,
    offsets: deliveries.map((d) => ({ partition: d.partition, offset: d.offset, error_code: null, error: null })),
  }
}
