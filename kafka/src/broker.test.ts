import { describe, expect, it } from 'vitest'
import { newClusterId } from './broker.ts'

describe('newClusterId', () => {
  it('is 22 base64url characters and never starts with "-" (StorageTool would read an option)', () => {
    // 1 in 64 random ids starts with '-': 2,000 draws miss that with odds of ~1e-14.
    const ids = Array.from({ length: 2000 }, () => newClusterId())
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
