import type { DeviceIdentity } from '../auth/tokens.ts'

export const BROADCAST_KEY = '*'

/** The record keys a device receives: its id, `group:<name>` of its groups, and the broadcast key. */
export function addressesOf(identity: DeviceIdentity): Set<string> {
  return new Set([identity.deviceId, ...identity.groups.map((g) => `group:${g}`), BROADCAST_KEY])
}
