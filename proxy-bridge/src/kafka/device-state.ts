import { murmur2 } from '@platformatic/kafka'

/**
 * Records of the compacted device-state topic. Key `<deviceId>`: the device's
 * watermark, written in the same transaction as its records. Key
 * `<deviceId>#claim`: written by a bridge right after it fenced the device's
 * previous producer; seeing it in the log proves every earlier commit was seen.
 * Both keys are written to the device's partition explicitly.
 */
export interface WatermarkValue {
  v: 1
  deviceId: string
  watermark: number
  at: number
}

export interface ClaimValue {
  v: 1
  deviceId: string
  claim: string
  bridge: string
  at: number
}

const claimSuffix = '#claim'

export function claimKey(deviceId: string): string {
  return `${deviceId}${claimSuffix}`
}

export function isClaimKey(key: string): boolean {
  return key.endsWith(claimSuffix)
}

/** Java-compatible partition of a key (murmur2, positive), so every Kafka client agrees with it. */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions
}

export function encodeState(value: WatermarkValue | ClaimValue): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8')
}

export function decodeState(buffer: Buffer | undefined): WatermarkValue | ClaimValue | undefined {
  if (!buffer || buffer.length === 0) return undefined
  try {
    const value = JSON.parse(buffer.toString('utf8')) as WatermarkValue | ClaimValue
    return value && value.v === 1 && typeof value.deviceId === 'string' ? value : undefined
  } catch {
    return undefined
  }
}
