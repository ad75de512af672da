import type { DeviceIdentity } from '../auth/tokens.ts'
import type { TopicNames } from '../config.ts'

export const BROADCAST_KEY = '*'

/** The record keys a device receives: its id, `group:<name>` of its groups, and the broadcast key. */
export function addressesOf(identity: DeviceIdentity): Set<string> {
  return new Set([identity.deviceId, ...identity.groups.map((g) => `group:${g}`), BROADCAST_KEY])
}

/** A device reads its inbox (the commands topic) and the topics its token lists, never the bridge's own state. */
export function maySubscribe(identity: DeviceIdentity, topic: string, topics: TopicNames): boolean {
  if (topic === topics.commands) return true
  if ([topics.deviceState, topics.models, topics.modelChunks, topics.fleet, topics.replies].includes(topic))
    return false
  for (const allowed of identity.topics) {
    if (allowed === topic) return true
    if (allowed.endsWith('*') && topic.startsWith(allowed.slice(0, -1))) return true
  }
  return false
}
