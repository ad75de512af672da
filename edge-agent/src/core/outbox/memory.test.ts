import { describe, expect, it } from 'vitest'
import { MemoryOutbox } from './memory.ts'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('MemoryOutbox', () => {
  it('gives dense seqs from 1, peeks in order, and releases what is acked', async () => {
    const outbox = new MemoryOutbox()
    for (let i = 1; i <= 10; i++) expect(await outbox.append({ value: { i } })).toBe(i)
    const page = await outbox.peek(3, 4, 1 << 20)
    expect(page.map((e) => e.seq)).toEqual([3, 4, 5, 6])
    expect(text((page[0] as { payload: Uint8Array }).payload)).toBe('{"i":3}')
    await outbox.ack(5)
    expect(outbox.stats()).toMatchObject({ depth: 5, ackedSeq: 5, nextSeq: 11 })
    expect(outbox.firstSeq).toBe(6)
  })

  it('reject: append throws E_OUTBOX_FULL at the cap and keeps everything', async () => {
    const outbox = new MemoryOutbox({ capBytes: 1000, overflow: 'reject' })
    let appended = 0
    await expect(
      (async () => {
        for (;;) {
          await outbox.append({ value: 'x'.repeat(50) })
          appended++
        }
      })(),
    ).rejects.toMatchObject({ code: 'E_OUTBOX_FULL' })
    expect(outbox.stats().depth).toBe(appended)
    expect(outbox.stats().dropped).toEqual({ overflow: 0, ttl: 0 })
  })

  it('drop-oldest: counts what it drops; resume renumbers so the bridge sees no gap', async () => {
    const outbox = new MemoryOutbox({ capBytes: 1000, overflow: 'drop-oldest' })
    // Recorded, not asserted, in the listener: the outbox swallows a listener's errors.
    const seen: { count: number; firstSeq: number; toSeq: number; counted: number }[] = []
    outbox.on('dropped', (d) =>
      seen.push({
        count: d.count,
        firstSeq: outbox.firstSeq,
        toSeq: d.toSeq,
        counted: outbox.stats().dropped.overflow,
      }),
    )
    for (let i = 1; i <= 40; i++) await outbox.append({ value: { i } })
    const stats = outbox.stats()
    expect(stats.dropped.overflow).toBeGreaterThan(0)
    expect(stats.depth + stats.dropped.overflow).toBe(40)
    expect(seen.reduce((a, s) => a + s.count, 0)).toBe(stats.dropped.overflow)
    // Each event comes after its drop: the outbox already starts past it and counts it.
    let counted = 0
    for (const s of seen) {
      counted += s.count
      expect(s).toMatchObject({ firstSeq: s.toSeq + 1, counted })
    }
    // The bridge has nothing yet: the oldest survivor must go out as seq 1.
    const renumbered: { shift: number; firstSeq: number }[] = []
    outbox.on('renumbered', (r) => renumbered.push(r))
    expect(await outbox.resume(0)).toBe(1)
    expect(renumbered).toEqual([{ shift: stats.dropped.overflow, firstSeq: 1 }])
    const [first] = await outbox.peek(1, 1, 1 << 20)
    expect(text((first as { payload: Uint8Array }).payload)).toBe(`{"i":${stats.dropped.overflow + 1}}`)
    expect(outbox.nextSeq).toBe(stats.depth + 1)
    expect(await outbox.append({ value: 'next' })).toBe(stats.depth + 1)
  })

  it('resume acks what Kafka has and treats a watermark beyond every seq as a reset outbox', async () => {
    const outbox = new MemoryOutbox()
    for (let i = 1; i <= 5; i++) await outbox.append({ value: i })
    expect(await outbox.resume(3)).toBe(4)
    expect(outbox.stats().depth).toBe(2)
    // The bridge knows seq 100: this outbox's records are new and follow it.
    expect(await outbox.resume(100)).toBe(101)
    expect((await outbox.peek(101, 10, 1 << 20)).map((e) => e.seq)).toEqual([101, 102])
  })

  it('never renumbers below what the bridge acked: a stale watermark from another bridge changes nothing', async () => {
    const outbox = new MemoryOutbox()
    for (let i = 1; i <= 10; i++) await outbox.append({ value: i })
    await outbox.ack(6)
    expect(outbox.needsExactWatermark).toBe(false)
    // A bridge whose state view lags says 2; Kafka holds at least 6.
    expect(await outbox.resume(2)).toBe(7)
    expect((await outbox.peek(7, 10, 1 << 20)).map((e) => [e.seq, text(e.payload)])).toEqual([
      [7, '7'],
      [8, '8'],
      [9, '9'],
      [10, '10'],
    ])
  })

  it('asks for the exact watermark when it may renumber: nothing acked yet, or records gone unacked', async () => {
    const fresh = new MemoryOutbox()
    expect(fresh.needsExactWatermark).toBe(true)
    await fresh.append({ value: 1 })
    await fresh.ack(1)
    expect(fresh.needsExactWatermark).toBe(false)

    const dropping = new MemoryOutbox({ capBytes: 200, overflow: 'drop-oldest' })
    await dropping.append({ value: 0 })
    await dropping.ack(1)
    expect(dropping.needsExactWatermark).toBe(false)
    for (let i = 1; i <= 40; i++) await dropping.append({ value: { i } })
    expect(dropping.stats().dropped.overflow).toBeGreaterThan(0)
    expect(dropping.needsExactWatermark).toBe(true)
  })

  it('TTL drops records older than ttlMs, unsent, and counts them', async () => {
    let now = 1_000_000
    const outbox = new MemoryOutbox({ ttlMs: 1000 }, () => now)
    await outbox.append({ value: 1 })
    now += 600
    await outbox.append({ value: 2 })
    now += 600
    const page = await outbox.peek(1, 10, 1 << 20)
    expect(page.map((e) => text(e.payload))).toEqual(['2'])
    expect(outbox.stats().dropped.ttl).toBe(1)
    expect(outbox.stats().oldestAgeMs).toBe(600)
  })

  it('rejects values it cannot store, with a code', async () => {
    const outbox = new MemoryOutbox()
    await expect(outbox.append({ value: 1, encoding: 'text' })).rejects.toMatchObject({ code: 'E_OUTBOX_BAD_RECORD' })
    await expect(outbox.append({ value: undefined })).rejects.toMatchObject({ code: 'E_OUTBOX_BAD_RECORD' })
    for (const timestamp of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      await expect(outbox.append({ value: 1, timestamp })).rejects.toMatchObject({ code: 'E_OUTBOX_BAD_RECORD' })
    }
    expect(outbox.stats().depth).toBe(0)
    // performance.timeOrigin + performance.now() has fractions of a ms: kept, and dropped when sent.
    await outbox.append({ value: 1, timestamp: 1767225600123.75 })
    expect(outbox.stats().depth).toBe(1)
  })
})
