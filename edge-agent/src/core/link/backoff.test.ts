import { describe, expect, it } from 'vitest'
import { Backoff } from './backoff.ts'

describe('Backoff', () => {
  it('full jitter under a doubling ceiling capped at 30 s', () => {
    const top = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.999999)
    const ceilings = Array.from({ length: 10 }, () => top.next())
    expect(ceilings.slice(0, 7)).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999])
    expect(Math.max(...ceilings)).toBeLessThan(30_000)
    const bottom = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0)
    expect(bottom.next()).toBe(0)
  })

  it('reset starts over', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0.5)
    b.next()
    b.next()
    b.reset()
    expect(b.next()).toBe(50)
  })
})
