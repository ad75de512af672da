import { describe, expect, it } from 'vitest'
import { crc32c } from './crc32c.ts'

const ascii = (s: string) => new TextEncoder().encode(s)

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4, "123456789")', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283)
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e)
  })

  it('covers a sub-range and notices one flipped bit anywhere', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff)
    expect(crc32c(bytes, 10, 500)).toBe(crc32c(bytes.slice(10, 500)))
    const sum = crc32c(bytes)
    for (const at of [0, 7, 8, 500, 999]) {
      const flipped = bytes.slice()
      flipped[at] = (flipped[at] as number) ^ 0x10
      expect(crc32c(flipped)).not.toBe(sum)
    }
  })
})
