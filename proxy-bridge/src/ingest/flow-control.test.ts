import { describe, expect, it } from 'vitest'
import { Credits, RateLimiter } from './flow-control.ts'

describe('RateLimiter', () => {
  it('allows the burst, then refills at the rate and says when to retry', () => {
    const limiter = new RateLimiter(100, 50, 0)
    expect(limiter.take(50, 0)).toEqual({ ok: true })
    expect(limiter.take(10, 0)).toEqual({ ok: false, retryAfterMs: 100 })
    expect(limiter.take(10, 100)).toEqual({ ok: true })
    // Idle time never banks more than the burst.
    expect(limiter.take(51, 60_000)).toMatchObject({ ok: false })
  })
})

describe('Credits', () => {
  it('bounds records and bytes in flight and returns them on ack', () => {
    const credits = new Credits(10, 1000)
    expect(credits.tryTake(8, 100)).toBe(true)
    expect(credits.tryTake(3, 100)).toBe(false)
    expect(credits.tryTake(2, 950)).toBe(false)
    credits.give(8, 100)
    expect(credits.tryTake(10, 1000)).toBe(true)
  })
})
