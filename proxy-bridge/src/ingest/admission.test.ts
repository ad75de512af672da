import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../config.ts'
import { ProduceAdmission } from './admission.ts'
import { BridgeInflight } from './inflight.ts'

function setup(limits: { creditRecords?: number; creditBytes?: number; ratePerSec?: number; burst?: number } = {}) {
  const config = resolveConfig({
    limits: {
      maxBatchRecords: 100,
      maxFrameBytes: 5000,
      maxRecordBytes: 1000,
      creditRecords: 250,
      creditBytes: 10_000,
      ...limits,
    },
  })
  let draining = false
  const inflight = new BridgeInflight(25_000)
  const socket = { paused: 0, resumed: 0, pause: () => socket.paused++, resume: () => socket.resumed++ }
  const admission = new ProduceAdmission({ config, inflight, isDraining: () => draining }, socket)
  return { admission, inflight, socket, drain: () => (draining = true) }
}

const codeOf = (f: () => unknown) => {
  try {
    f()
  } catch (error) {
    return (error as { code: string }).code
  }
  return 'admitted'
}

describe('ProduceAdmission', () => {
  it('refuses a batch over the limit, then frames over the credits until a release gives them back, once', () => {
    const { admission } = setup()
    expect(codeOf(() => admission.admit(101, 10))).toBe(ErrorCodes.BATCH_TOO_LARGE)
    const first = admission.admit(100, 1000)
    admission.admit(100, 1000)
    expect(codeOf(() => admission.admit(100, 1000))).toBe(ErrorCodes.CREDITS_EXCEEDED)
    first()
    first()
    admission.admit(100, 1000)
    // A second release of the same frame gave nothing back.
    expect(codeOf(() => admission.admit(100, 1000))).toBe(ErrorCodes.CREDITS_EXCEEDED)
    expect(codeOf(() => admission.admit(10, 9000))).toBe(ErrorCodes.CREDITS_EXCEEDED)
  })

  it('refuses records over the rate with how long to wait', () => {
    const { admission } = setup({ ratePerSec: 100, burst: 150, creditRecords: 10_000 })
    admission.admit(100, 10)
    let error: { code: string; retryAfterMs?: number } | undefined
    try {
      admission.admit(100, 10)
    } catch (e) {
      error = e as typeof error
    }
    expect(error?.code).toBe(ErrorCodes.RATE_LIMITED)
    expect(error?.retryAfterMs).toBeGreaterThan(0)
    expect(error?.retryAfterMs).toBeLessThanOrEqual(500)
  })

  it('refuses everything while the bridge drains', () => {
    const { admission, drain } = setup()
    drain()
    expect(codeOf(() => admission.admit(1, 10))).toBe(ErrorCodes.SHUTTING_DOWN)
  })

  it("pauses the socket while the bridge's bytes in flight are over the limit, resumes it under half", () => {
    const { admission, inflight, socket } = setup({ creditBytes: 1_000_000 })
    const releases = [admission.admit(1, 20_000), admission.admit(1, 10_000)]
    expect(inflight.bytes).toBe(30_000)
    expect(socket).toMatchObject({ paused: 1, resumed: 0 })
    releases[0]?.()
    expect(socket).toMatchObject({ paused: 1, resumed: 1 })
    releases[1]?.()
    expect(inflight.bytes).toBe(0)
  })
})
