// CRC32C (Castagnoli, polynomial 0x82F63B78 reflected), slicing-by-8.
// Written here rather than taken from npm: the maintained packages (sse4_crc32,
// @node-rs/crc32) are native and need install scripts or prebuilt binaries,
// which this project cannot rely on (SPEC: no install scripts), and the core
// must run unchanged in browsers. ~60 lines, checked against RFC 3720 vectors.

const tables: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256))
  const t0 = t[0] as Uint32Array
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t0[i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t0[i] as number
    for (let s = 1; s < 8; s++) {
      c = (t0[c & 0xff] as number) ^ (c >>> 8)
      ;(t[s] as Uint32Array)[i] = c >>> 0
    }
  }
  return t
})()

const [T0, T1, T2, T3, T4, T5, T6, T7] = tables as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
]

/** CRC32C of bytes[start, end). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff
  let i = start
  const stop8 = end - ((end - start) & 7)
  while (i < stop8) {
    const a =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24)
    crc ^= a
    crc =
      (T7[crc & 0xff] as number) ^
      (T6[(crc >>> 8) & 0xff] as number) ^
      (T5[(crc >>> 16) & 0xff] as number) ^
      (T4[crc >>> 24] as number) ^
      (T3[bytes[i + 4] as number] as number) ^
      (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^
      (T0[bytes[i + 7] as number] as number)
    i += 8
  }
  while (i < end) crc = (T0[(crc ^ (bytes[i++] as number)) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
