import type { SessionLimits, WelcomeFrame } from '../../src/protocol/v1.ts'

/** A bridge's welcome for unit tests: generous limits unless `limits` says otherwise. */
export function testWelcome(limits: Partial<SessionLimits> = {}, tokenExpiresAt = 3_600_000): WelcomeFrame {
  return {
    type: 'welcome',
    version: 1,
    deviceId: 'd',
    sessionId: 's1',
    watermark: 0,
    limits: {
      maxBatchRecords: 50,
      maxFrameBytes: 65536,
      maxRecordBytes: 4096,
      credits: { records: 1000, bytes: 1 << 20 },
      ratePerSec: 1_000_000,
      burst: 1_000_000,
      heartbeatMs: 15_000,
      ...limits,
    },
    tokenExpiresAt,
  }
}
