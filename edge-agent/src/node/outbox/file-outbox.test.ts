import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../../../test/support/temp-dirs.ts'
import { FileOutbox } from './file-outbox.ts'

const freshDir = tempDirs('outbox-unit-')

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const segments = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()

async function fill(outbox: FileOutbox, from: number, to: number): Promise<void> {
  const appends: Promise<number>[] = []
  for (let i = from; i <= to; i++) appends.push(outbox.append({ value: { i, pad: 'p'.repeat(40) } }))
  const seqs = await Promise.all(appends)
  expect(seqs).toEqual(Array.from({ length: to - from + 1 }, (_, k) => from + k))
}

/**
 * 100 records in 4 KiB segments, the oldest (sealed) one's bytes changed by
 * `damage`, opened again. With `clock`, record i is appended at clock.now = i * 1000,
 * and the outbox is opened again at 100 s.
 */
async function damagedOutbox(damage: (bytes: Buffer) => void, clock?: { now: number; ttlMs: number }) {
  const dir = freshDir()
  const options = { segmentBytes: 4096, capBytes: 1 << 20, ...(clock && { now: () => clock.now }) }
  const a = await FileOutbox.open(dir, options)
  if (clock) {
    for (let i = 1; i <= 100; i++) {
      clock.now = i * 1000
      await a.append({ value: { i, pad: 'p'.repeat(40) } })
    }
  } else await fill(a, 1, 100)
  await a.close()
  const file = join(dir, segments(dir)[0] as string)
  const bytes = readFileSync(file)
  damage(bytes)
  writeFileSync(file, bytes)
  const b = await FileOutbox.open(dir, { ...options, ...(clock && { ttlMs: clock.ttlMs }) })
  const corrupt: number[] = []
  b.on('corrupt', (c) => corrupt.push(c.seq))
  return { b, corrupt, dir }
}

describe('FileOutbox', () => {
  it('keeps records, seqs and acks across a restart, byte for byte', async () => {
    const dir = freshDir()
    const a = await FileOutbox.open(dir)
    await fill(a, 1, 100)
    await a.append({ value: Uint8Array.of(0, 1, 255), encoding: 'bytes', topic: 'raw', headers: { k: 'v' } })
    await a.ack(40)
    await a.close()

    const b = await FileOutbox.open(dir)
    expect(b.nextSeq).toBe(102)
    expect(b.firstSeq).toBe(41)
    expect(b.stats()).toMatchObject({ depth: 61, ackedSeq: 40 })
    const page = await b.peek(41, 1000, 1 << 20)
    expect(page.map((e) => e.seq)).toEqual(Array.from({ length: 61 }, (_, k) => 41 + k))
    expect(JSON.parse(text((page[0] as { payload: Uint8Array }).payload))).toEqual({ i: 41, pad: 'p'.repeat(40) })
    expect(page[60]).toMatchObject({ seq: 101, topic: 'raw', encoding: 'bytes', headers: { k: 'v' } })
    expect([...(page[60] as { payload: Uint8Array }).payload]).toEqual([0, 1, 255])
    expect(await b.append({ value: 'after' })).toBe(102)
    await b.close()
  })

  it('a torn tail (the file cut mid-record) recovers every complete record', async () => {
    const dir = freshDir()
    const a = await FileOutbox.open(dir)
    await fill(a, 1, 50)
    await a.close()
    const [segment] = segments(dir)
    const file = join(dir, segment as string)
    const size = statSync(file).size
    const perRecord = size / 50
    // Cut the last record in half: 49 complete records remain.
    truncateSync(file, size - Math.floor(perRecord / 2))

    const b = await FileOutbox.open(dir)
    expect(b.nextSeq).toBe(50)
    const page = await b.peek(1, 1000, 1 << 20)
    expect(page.map((e) => JSON.parse(text(e.payload)).i)).toEqual(Array.from({ length: 49 }, (_, k) => k + 1))
    // The torn bytes are gone, so the next append lands cleanly as seq 50.
    expect(await b.append({ value: { i: 50 } })).toBe(50)
    await b.close()
    const c = await FileOutbox.open(dir)
    expect(c.nextSeq).toBe(51)
    await c.close()
  })

  it('CRC32C catches a flipped byte: the record goes out as a marker, the seqs stay dense', async () => {
    // Flip one payload byte of the first record of the oldest (sealed) segment.
    const { b, corrupt } = await damagedOutbox((bytes) => {
      bytes[50] = (bytes[50] as number) ^ 0x01
    })
    const page = await b.peek(1, 1000, 1 << 20)
    expect(page.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, k) => k + 1))
    expect(corrupt).toEqual([1])
    expect(page[0]).toMatchObject({ headers: { 'kafka-edge-corrupt': 'crc32c' } })
    expect(text((page[0] as { payload: Uint8Array }).payload)).toBe('null')
    expect(JSON.parse(text((page[1] as { payload: Uint8Array }).payload)).i).toBe(2)
    expect(b.stats().corrupted).toBe(1)
    // A rewind reads the marker again: still one lost record, reported once.
    await b.peek(1, 1000, 1 << 20)
    expect(corrupt).toHaveLength(1)
    expect(b.stats().corrupted).toBe(1)
    await b.close()
  })

  it('a damaged length field: the records it hides go out as markers, the next segment as written', async () => {
    // The third record's length now runs far past the end of the oldest (sealed) segment.
    const { b, corrupt, dir } = await damagedOutbox((bytes) => {
      const third = 8 + bytes.readUInt32LE(0) + 8 + bytes.readUInt32LE(8 + bytes.readUInt32LE(0))
      bytes.writeUInt32LE(0x7ffffff0, third)
    })
    const inFirst = Number(segments(dir)[1]?.slice(0, 20)) - 1
    const page = await b.peek(1, 1000, 1 << 20)
    expect(page.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, k) => k + 1))
    const hidden = Array.from({ length: inFirst - 2 }, (_, k) => k + 3)
    expect(corrupt.sort((x, y) => x - y)).toEqual(hidden)
    for (const seq of hidden) expect(page[seq - 1]).toMatchObject({ headers: { 'kafka-edge-corrupt': 'crc32c' } })
    expect(JSON.parse(text((page[1] as { payload: Uint8Array }).payload)).i).toBe(2)
    expect(JSON.parse(text((page[inFirst] as { payload: Uint8Array }).payload)).i).toBe(inFirst + 1)
    expect(b.stats().corrupted).toBe(hidden.length)
    // A read from inside the hidden records marks from there on, and counts nothing twice.
    const again = await b.peek(5, 2, 1 << 20)
    expect(again.map((e) => [e.seq, e.headers?.['kafka-edge-corrupt']])).toEqual([
      [5, 'crc32c'],
      [6, 'crc32c'],
    ])
    expect(b.stats().corrupted).toBe(hidden.length)
    await b.close()
  })

  it('TTL: a damaged head is as old as the intact record after it, so it leaves with that one and never before', async () => {
    const clock = { now: 0, ttlMs: 99_000 }
    const { b } = await damagedOutbox((bytes) => {
      bytes[50] = (bytes[50] as number) ^ 0x01
    }, clock)
    const seqs = async () => (await b.peek(1, 1000, 1 << 20)).map((e) => e.seq)
    // Record 2 (appended at 2 s) is not past the TTL yet: the marker for record 1 stays ahead of it.
    clock.now = 100_500
    expect((await seqs())[0]).toBe(1)
    expect(b.stats()).toMatchObject({ dropped: { ttl: 0 }, oldestAgeMs: 98_500 })
    // Records 1 to 50 are past it now.
    clock.now = 149_500
    expect(await seqs()).toEqual(Array.from({ length: 50 }, (_, k) => k + 51))
    expect(b.stats()).toMatchObject({ depth: 50, dropped: { ttl: 50 } })
    await b.close()
  })

  it('TTL: a head whose frames cannot be found leaves with the first intact record after it that is past the TTL', async () => {
    const clock = { now: 0, ttlMs: 99_000 }
    // The first record's length runs past the end of the segment: no frame of it can be found.
    const { b, dir } = await damagedOutbox((bytes) => {
      bytes.writeUInt32LE(0x7ffffff0, 0)
    }, clock)
    const inFirst = Number(segments(dir)[1]?.slice(0, 20)) - 1
    expect(b.stats()).toMatchObject({ depth: 100, oldestAgeMs: 0 }) // its age is unknown
    // The first intact record (the next segment's first) is past the TTL, and 9 after it.
    clock.now = (inFirst + 10) * 1000 + 99_500
    const page = await b.peek(1, 1000, 1 << 20)
    expect(page[0]?.seq).toBe(inFirst + 11)
    expect(b.stats()).toMatchObject({ depth: 100 - inFirst - 10, dropped: { ttl: inFirst + 10 } })
    await b.close()
  })

  it('deletes segments whole once every record in them is acked', async () => {
    const dir = freshDir()
    const a = await FileOutbox.open(dir, { segmentBytes: 4096, capBytes: 1 << 20 })
    await fill(a, 1, 200)
    const before = segments(dir).length
    expect(before).toBeGreaterThan(3)
    await a.ack(150)
    await new Promise((r) => setTimeout(r, 50))
    const after = segments(dir)
    expect(after.length).toBeLessThan(before)
    // The oldest segment left starts at or before the first unacked record.
    expect(Number((after[0] as string).slice(0, 20))).toBeLessThanOrEqual(151)
    expect((await a.peek(151, 1000, 1 << 20)).length).toBe(50)
    await a.close()
  })

  it('reject: at the cap append throws E_OUTBOX_FULL and nothing is lost', async () => {
    const dir = freshDir()
    const a = await FileOutbox.open(dir, { capBytes: 16 * 1024, segmentBytes: 4096, overflow: 'reject' })
    let ok = 0
    let error: unknown
    for (let i = 1; i <= 1000 && !error; i++) {
      try {
        await a.append({ value: { i, pad: 'p'.repeat(40) } })
        ok++
      } catch (e) {
        error = e
      }
    }
    expect(error).toMatchObject({ code: 'E_OUTBOX_FULL' })
    expect(a.stats()).toMatchObject({ depth: ok, dropped: { overflow: 0, ttl: 0 } })
    expect((await a.peek(1, 10_000, 1 << 22)).length).toBe(ok)
    // Acks make room again.
    await a.ack(ok)
    await new Promise((r) => setTimeout(r, 50))
    expect(await a.append({ value: 'room again' })).toBe(ok + 1)
    await a.close()
  })

  it('drop-oldest: drops whole oldest segments, counts them, and renumbers survivors after a restart', async () => {
    const dir = freshDir()
    const options = { capBytes: 16 * 1024, segmentBytes: 4096, overflow: 'drop-oldest' as const }
    const a = await FileOutbox.open(dir, options)
    const seen: { firstSeq: number; toSeq: number; counted: number }[] = []
    a.on('dropped', (d) => seen.push({ firstSeq: a.firstSeq, toSeq: d.toSeq, counted: a.stats().dropped.overflow }))
    await fill(a, 1, 1000)
    const stats = a.stats()
    expect(stats.dropped.overflow).toBeGreaterThan(0)
    // Each event comes after its drop: the outbox already starts past it and counts it.
    expect(seen.length).toBeGreaterThan(0)
    for (const s of seen) expect(s.firstSeq).toBe(s.toSeq + 1)
    expect(seen.at(-1)?.counted).toBe(stats.dropped.overflow)
    expect(stats.depth + stats.dropped.overflow).toBe(1000)
    expect(stats.bytes).toBeLessThanOrEqual(16 * 1024)
    await a.close()

    const b = await FileOutbox.open(dir, options)
    expect(b.stats().depth).toBe(stats.depth)
    // The bridge holds seqs 1..0: the oldest survivor goes out as seq 1, no gap.
    expect(await b.resume(0)).toBe(1)
    const page = await b.peek(1, 10_000, 1 << 22)
    expect(page.map((e) => e.seq)).toEqual(Array.from({ length: stats.depth }, (_, k) => k + 1))
    expect(JSON.parse(text((page[0] as { payload: Uint8Array }).payload)).i).toBe(stats.dropped.overflow + 1)
    expect(await b.append({ value: 'next' })).toBe(stats.depth + 1)
    await b.close()
    // The renumbering is durable.
    const c = await FileOutbox.open(dir, options)
    expect(c.firstSeq).toBe(1)
    expect(c.nextSeq).toBe(stats.depth + 2)
    await c.close()
  })

  it('knows the age of its oldest record after acks inside a segment, and expires from there', async () => {
    const dir = freshDir()
    let now = 1_000_000
    const a = await FileOutbox.open(dir, { ttlMs: 10_000, now: () => now })
    for (let i = 1; i <= 10; i++) {
      await a.append({ value: i })
      now += 1000
    }
    // Record i was appended at 1_000_000 + (i - 1) * 1000; now is 1_010_000.
    await a.ack(4)
    await expect.poll(() => a.stats().oldestAgeMs).toBe(6000)
    await a.ack(7)
    await expect.poll(() => a.stats().oldestAgeMs).toBe(3000)
    now += 8500 // records 8 (age 11.5 s) and 9 (10.5 s) are past the TTL, 10 (9.5 s) is not
    expect((await a.peek(1, 10, 1 << 20)).map((e) => text(e.payload))).toEqual(['10'])
    expect(a.stats()).toMatchObject({ depth: 1, dropped: { ttl: 2, overflow: 0 } })
    await a.close()
  })

  it('TTL drops records older than ttlMs unsent', async () => {
    const dir = freshDir()
    let now = 1_000_000
    const a = await FileOutbox.open(dir, { ttlMs: 10_000, now: () => now })
    await fill(a, 1, 10)
    now += 6000
    await fill(a, 11, 15)
    now += 6000
    const page = await a.peek(1, 100, 1 << 20)
    expect(page.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15])
    expect(a.stats()).toMatchObject({ depth: 5, dropped: { ttl: 10, overflow: 0 } })
    await a.close()
  })

  it('a write that fails (file size limit) refuses later appends, loses no resolved record, and close() frees the directory', () => {
    const dir = freshDir()
    const outboxModule = fileURLToPath(new URL('./file-outbox.ts', import.meta.url))
    // A child under `ulimit -f 16` (8 KiB per file): Node ignores SIGXFSZ, so the write fails with EFBIG.
    const child = `
      const { FileOutbox } = await import(${JSON.stringify(outboxModule)})
      const dir = process.argv[1]
      const a = await FileOutbox.open(dir)
      let resolved = 0, failed
      for (let i = 1; i <= 500 && !failed; i++) {
        await a.append({ value: { i, pad: 'p'.repeat(100) } }).then(() => resolved++, (e) => { failed = e.code + ': ' + e.message })
      }
      const late = await a.append({ value: { late: true } }).catch((e) => e.code)
      await a.close()
      const b = await FileOutbox.open(dir)
      const page = await b.peek(1, 1000, 1 << 20)
      console.log(JSON.stringify({ resolved, failed, late, kept: page.map((e) => JSON.parse(new TextDecoder().decode(e.payload)).i), nextSeq: b.nextSeq }))
      await b.close()
    `
    const out = execFileSync(
      'sh',
      [
        '-c',
        'ulimit -f 16; exec "$0" "$@"',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        child,
        dir,
      ],
      {
        encoding: 'utf8',
      },
    )
    const result = JSON.parse(out.trim().split('\n').pop() as string)
    expect(result.failed).toMatch(/^E_OUTBOX_CLOSED: .*write failed: .*EFBIG/)
    expect(result.late).toBe('E_OUTBOX_CLOSED')
    expect(result.resolved).toBeGreaterThan(10)
    // Reopened in the same process: the lock was released. Every resolved append is there, nothing else.
    expect(result.kept).toEqual(Array.from({ length: result.resolved }, (_, k) => k + 1))
    expect(result.nextSeq).toBe(result.resolved + 1)
  })

  it('one process per directory', async () => {
    const dir = freshDir()
    const a = await FileOutbox.open(dir)
    await expect(FileOutbox.open(dir)).rejects.toMatchObject({ code: 'E_OUTBOX_LOCKED' })
    await a.close()
    // Closed, it opens again; a lock with this process's pid that it does not hold is stale.
    await (await FileOutbox.open(dir)).close()
    writeFileSync(join(dir, 'outbox.lock'), String(process.pid))
    await (await FileOutbox.open(dir)).close()
    // A lock held by a live process (pid 1) holds; one left by a dead process is taken over.
    writeFileSync(join(dir, 'outbox.lock'), '1')
    await expect(FileOutbox.open(dir)).rejects.toMatchObject({ code: 'E_OUTBOX_LOCKED' })
    writeFileSync(join(dir, 'outbox.lock'), '999999999')
    const b = await FileOutbox.open(dir)
    await b.close()
  })
})
