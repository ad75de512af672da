/**
 * Module hooks for the bridge run from its sources (bin/kafka-edge-bridge.js):
 * the Kafka client gets the same edits there as in the production build
 * (client-edits.ts).
 */

import type { LoadHook } from 'node:module'
import { fileURLToPath } from 'node:url'
import { clientEditFor } from './client-edits.ts'

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context)
  if (!url.startsWith('file:')) return loaded
  const edit = clientEditFor(fileURLToPath(url))
  return edit ? { ...loaded, source: edit(String(loaded.source)) } : loaded
}
