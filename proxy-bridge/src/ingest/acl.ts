import type { DeviceIdentity } from '../auth/tokens.ts'
import type { TopicNames } from '../config.ts'

/**
 * A device may produce to the bridge's records topic and to every topic its
 * token lists, exactly or by a prefix ending in `*` (e.g. "telemetry.*"), but
 * never to the bridge's own topics (device state, models, fleet, commands),
 * whatever its token says: a forged watermark would hide its own records.
 */
export function mayProduce(identity: DeviceIdentity, topic: string, topics: TopicNames): boolean {
  if (topic === topics.records) return true
  if (topic === topics.deviceState || topic === topics.models || topic === topics.modelChunks) return false
  if (topic === topics.fleet || topic === topics.commands) return false
  for (const allowed of identity.topics) {
    if (allowed === topic) return true
    if (allowed.endsWith('*') && topic.startsWith(allowed.slice(0, -1))) return true
  }
  return false
}
