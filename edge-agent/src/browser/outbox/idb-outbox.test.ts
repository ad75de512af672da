// fake-indexeddb stands in for a browser's IndexedDB in this unit test; the
// browser demo's Playwright test drains the store in Chromium's real one.
import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { IdbOutbox } from './idb-outbox.ts'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
let n = 0
const name = () => `unit-${process.pid}-${n++}`

/** Flips a bit of the stored frame of lsn `lsn` (its CRC then fails); returns the frame. */
async function flipLastByte(db: string, lsn: number): Promise<Uint8Array> {
  const raw = await openDB(`kafka-edge-outbox-${db}`)
  const frame = (await raw.get('records', lsn)) as Uint8Array
  frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 0x01
  await raw.put('records', frame, lsn)
  raw.close()
  return frame
}

describe('IdbOutbox', () => {
  it('keeps records, seqs and acks across a reopen', async () => {
    const db = name()
    const a = await IdbOutbox.open(db)
    const seqs = await Promise.all(Array.from({ length: 20 }, (_, i) => a.append({ value: { i } })))
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    await a.ack(5)
    await a.close()
    const b = await IdbOutbox.open(db)
    expect(b.nextSeq).toBe(21)
    expect(b.firstSeq).toBe(6)
    const page = await b.peek(6, 100, 1 << 20)
    expect(page.map((e) => JSON.parse(text(e.payload)).i)).toEqual(Array.from({ length: 15 }, (_, i) => i + 5))
    await b.close()
  })

  it('closes itself when a write fails, so no later write can make a lost record look durable', async () => {
    const db = name()
    const a = await IdbOutbox.open(db)
    for (let i = 1; i <= 3; i++) await a.append({ value: i })
    const proto = (globalThis as unknown as { IDBDatabase: { prototype: { transaction: unknown } } }).IDBDatabase
      .prototype
    const transaction = proto.transaction as (...args: unknown[]) => unknown
    proto.transaction = function (this: unknown, ...args: unknown[]) {
      if (args[1] === 'readwrite') throw new Error('QuotaExceededError')
      return transaction.apply(this, args)
    }
    try {
      await expect(a.append({ value: 4 })).rejects.toMatchObject({ code: 'E_OUTBOX_CLOSED' })
    } finally {
      proto.transaction = transaction
    }
    await expect(a.append({ value: 5 })).rejects.toMatchObject({ code: 'E_OUTBOX_CLOSED' })
    const b = await IdbOutbox.open(db)
    expect(await b.append({ value: 'after' })).toBe(4)
    expect((await b.peek(1, 10, 1 << 20)).map((e) => [e.seq, text(e.payload)])).toEqual([
      [1, '1'],
      [2, '2'],
      [3, '3'],
      [4, '"after"'],
    ])
    await b.close()
  })

  it('reject and drop-oldest at the cap', async () => {
    const full = await IdbOutbox.open(name(), { capBytes: 2000 })
    await expect(
      (async () => {
        for (;;) await full.append({ value: 'x'.repeat(50) })
      })(),
    ).rejects.toMatchObject({ code: 'E_OUTBOX_FULL' })
    await full.close()
    const dropping = await IdbOutbox.open(name(), { capBytes: 2000, overflow: 'drop-oldest' })
    const seen: { firstSeq: number; toSeq: number; counted: number }[] = []
    dropping.on('dropped', (d) =>
      seen.push({ firstSeq: dropping.firstSeq, toSeq: d.toSeq, counted: dropping.stats().dropped.overflow }),
    )
    for (let i = 0; i < 100; i++) await dropping.append({ value: i })
    const stats = dropping.stats()
    expect(stats.dropped.overflow + stats.depth).toBe(100)
    // Each event comes after its drop: the outbox already starts past it and counts it.
    expect(seen.length).toBeGreaterThan(0)
    for (const s of seen) expect(s.firstSeq).toBe(s.toSeq + 1)
    expect(seen.at(-1)?.counted).toBe(stats.dropped.overflow)
    expect(await dropping.resume(0)).toBe(1)
    expect((await dropping.peek(1, 1, 1 << 20)).map((e) => text(e.payload))).toEqual([String(stats.dropped.overflow)])
    await dropping.close()
  })

  it('sends a record whose bytes fail their CRC as a marker, keeping the seqs dense', async () => {
    const db = name()
    const a = await IdbOutbox.open(db)
    for (let i = 1; i <= 3; i++) await a.append({ value: i })
    await a.close()
    const frame = await flipLastByte(db, 2)

    const b = await IdbOutbox.open(db, { now: () => 42 })
    const corrupt: number[] = []
    b.on('corrupt', (c) => corrupt.push(c.seq))
    const page = await b.peek(1, 10, 1 << 20)
    expect(page.map((e) => [e.seq, text(e.payload)])).toEqual([
      [1, '1'],
      [2, 'null'],
      [3, '3'],
    ])
    expect(page[1]).toMatchObject({ headers: { 'kafka-edge-corrupt': 'crc32c' }, appendedAt: 42, size: frame.length })
    expect(corrupt).toEqual([2])
    expect(b.stats().corrupted).toBe(1)
    // A rewind reads the marker again: still one lost record, reported once.
    await b.peek(1, 1000, 1 << 20)
    expect(corrupt).toHaveLength(1)
    expect(b.stats().corrupted).toBe(1)
    await b.close()
  })

  it('TTL: a record whose bytes fail their CRC is as old as the intact one after it, and leaves with it, never before', async () => {
    const db = name()
    let now = 0
    const a = await IdbOutbox.open(db, { now: () => now })
    for (let i = 1; i <= 4; i++) {
      now = i * 1000
      await a.append({ value: i })
    }
    await a.close()
    await flipLastByte(db, 1)

    const b = await IdbOutbox.open(db, { now: () => now, ttlMs: 10_000 })
    const seqs = async () => (await b.peek(1, 10, 1 << 20)).map((e) => e.seq)
    // Record 2 (appended at 2 s) is not past the TTL: the marker for record 1 stays ahead of it.
    now = 11_500
    expect(await seqs()).toEqual([1, 2, 3, 4])
    expect(b.stats()).toMatchObject({ oldestAgeMs: 9500, dropped: { ttl: 0 } })
    now = 12_500
    expect(await seqs()).toEqual([3, 4])
    expect(b.stats()).toMatchObject({ dropped: { ttl: 2 } })
    await b.close()
  })
})
