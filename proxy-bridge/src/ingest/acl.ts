import type { DeviceIdentity } from '../auth/tokens.ts'

/**
 * A device may produce to the bridge's records topic and to every topic its
 * token lists, exactly or by a prefix ending in `*` (e.g. "telemetry.*").
 */
export function mayProduce(identity: DeviceIdentity, topic: string, recordsTopic: string): boolean {
  if (topic === recordsTopic) return true
  for (const allowed of identity.topics) {
    if (allowed === topic) return true
    if (allowed.endsWith('*') && topic.startsWith(allowed.slice(0, -1))) return true
  }
  return false
}
