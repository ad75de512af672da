/**
 * Module hooks for the bridge run from its sources (bin/kafka-edge-bridge.js):
 * the Kafka client gets the record batch encoder and the abort marker fix
 * there too, as it does in the production build (record-batch-plugin.ts,
 * abort-marker-guard.ts).
 */

import type { LoadHook } from 'node:module'
import { fileURLToPath } from 'node:url'
import { CONSUMER_MODULE, withAbortMarkerGuard } from './abort-marker-guard.ts'
import { RECORDS_MODULE, withRecordBatchEncoder } from './record-batch-plugin.ts'

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context)
  if (!url.startsWith('file:')) return loaded
  const path = fileURLToPath(url)
  if (RECORDS_MODULE.test(path)) return { ...loaded, source: withRecordBatchEncoder(String(loaded.source)) }
  if (CONSUMER_MODULE.test(path)) return { ...loaded, source: withAbortMarkerGuard(String(loaded.source)) }
  return loaded
}
