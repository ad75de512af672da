/**
 * Module hooks for the bridge run from its sources (bin/kafka-edge-bridge.js):
 * the Kafka client gets the record batch encoder there too, as it does in the
 * production build (record-batch-plugin.ts).
 */

import type { LoadHook } from 'node:module'
import { fileURLToPath } from 'node:url'
import { RECORDS_MODULE, withRecordBatchEncoder } from './record-batch-plugin.ts'

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context)
  if (!url.startsWith('file:') || !RECORDS_MODULE.test(fileURLToPath(url))) return loaded
  return { ...loaded, source: withRecordBatchEncoder(String(loaded.source)) }
}
