import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TokenExpiry } from './token-expiry.ts'

const day = 24 * 3600_000

describe('TokenExpiry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('fires once the token expired plus the tolerance, also beyond what one setTimeout can wait', () => {
    let fired = 0
    const expiry = new TokenExpiry(() => fired++, 5000)
    expiry.schedule(Date.now() + 40 * day)
    vi.advanceTimersByTime(40 * day + 4999)
    expect(fired).toBe(0)
    vi.advanceTimersByTime(1)
    expect(fired).toBe(1)
    vi.advanceTimersByTime(60 * day)
    expect(fired).toBe(1)
  })

  it('a new schedule replaces the old one, and cancel stops it', () => {
    let fired = 0
    const expiry = new TokenExpiry(() => fired++, 0)
    expiry.schedule(Date.now() + 1000)
    expiry.schedule(Date.now() + 5000)
    vi.advanceTimersByTime(4000)
    expect(fired).toBe(0)
    vi.advanceTimersByTime(1000)
    expect(fired).toBe(1)
    expiry.schedule(Date.now() + 1000)
    expiry.cancel()
    vi.advanceTimersByTime(10_000)
    expect(fired).toBe(1)
  })

  it('fires at once for a token already past its tolerance', () => {
    let fired = 0
    new TokenExpiry(() => fired++, 5000).schedule(Date.now() - 6000)
    expect(fired).toBe(1)
  })
})
