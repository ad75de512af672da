import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { type BatchMessage, type BatchOptions, encodeRecordBatch } from './record-batch.ts'

// The client's own encoder and CRC, from its files: the package exports neither.
const clientDir = dirname(createRequire(import.meta.url).resolve('@platformatic/kafka'))
const clientModule = (path: string) => import(pathToFileURL(join(clientDir, path)).href)
const { createRecordsBatch } = (await clientModule('protocol/records.js')) as {
  createRecordsBatch(messages: BatchMessage[], options: BatchOptions): { buffer: Buffer }
}
const { crc32c } = (await clientModule('protocol/crc32c.js')) as { crc32c(bytes: Uint8Array): number }
const { readRecordsBatch } = (await clientModule('protocol/records.js')) as {
  readRecordsBatch(reader: unknown): { firstTimestamp: bigint; records: { timestampDelta: bigint; value: Buffer }[] }
}
const { Reader } = (await clientModule('protocol/reader.js')) as { Reader: { from(buffer: Buffer): unknown } }
const { NumericMap } = (await clientModule('utils.js')) as {
  NumericMap: new () => Map<string, number> & NonNullable<BatchOptions['sequences']>
}

// A seeded generator, so a failure names a batch that can be replayed.
function generator(seed: number) {
  let state = seed >>> 0
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

/** Sizes either side of the varint boundaries (63/64 and 8191/8192 after zigzag). */
const sizes = [0, 1, 63, 64, 200, 8191, 8192, 70_000]

function randomBatch(seed: number): BatchMessage[] {
  const pick = generator(seed)
  const bytes = () => (pick(8) === 0 ? null : randomBytes(sizes[pick(sizes.length)] as number))
  const base = 1_700_000_000_000n + BigInt(pick(1_000_000))
  const count = 1 + pick(seed % 10 === 0 ? 400 : 8)
  return Array.from({ length: count }, () => ({
    topic: 'records',
    partition: pick(3),
    key: bytes(),
    value: bytes(),
    headers:
      pick(3) === 0
        ? undefined
        : new Map(
            Array.from({ length: pick(4) }, () => [
              randomBytes(pick(20)),
              pick(5) === 0 ? null : randomBytes(pick(300)),
            ]),
          ),
    // Deltas either way, up to ~12 days (still an int32 of milliseconds).
    timestamp: base + BigInt(pick(2) === 0 ? pick(100) : -pick(1_000_000_000)),
  }))
}

const copy = (messages: BatchMessage[]) => messages.map((m) => ({ ...m }))

describe('encodeRecordBatch', () => {
  it("compares against the client's own encoder, not one already routed through this", () => {
    // The integration projects load the client with the encoder edited in (vitest.config.ts); these tests must not.
    expect(createRecordsBatch.toString()).not.toContain('encodeRecordBatch')
  })

  it("writes the client's bytes for 2,000 batches of every shape it takes", () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const messages = randomBatch(seed)
      const sequences = new NumericMap()
      sequences.set(`records:${messages[0]?.partition}`, seed * 7)
      const options: BatchOptions =
        seed % 2 === 0
          ? { transactionalId: 'lane-1', producerId: BigInt(seed), producerEpoch: seed % 5, sequences }
          : { partitionLeaderEpoch: seed % 3 }
      const ours = encodeRecordBatch(copy(messages), options, crc32c)
      const theirs = createRecordsBatch(copy(messages), options).buffer
      if (!ours?.equals(theirs)) expect.fail(`batch ${seed} differs from the client's`)
    }
  })

  it('leaves unset timestamps at now, and sets them on the messages as the client does', () => {
    const messages: BatchMessage[] = [
      { topic: 't', value: Buffer.from('a') },
      { topic: 't', value: Buffer.from('b') },
    ]
    const before = BigInt(Date.now())
    const out = encodeRecordBatch(messages, {}, crc32c) as Buffer
    const first = out.readBigInt64BE(27)
    expect(first >= before && first <= BigInt(Date.now())).toBe(true)
    expect(messages.map((m) => m.timestamp)).toEqual([first, first])
  })

  it("writes timestamps more than 24.8 days after the batch's first as Kafka reads them (the client's encoder does not)", () => {
    const day = 86_400_000n
    const first = 1_700_000_000_000n
    const offsets = [
      0n,
      25n * day,
      2n ** 31n,
      2n ** 31n - 1n,
      2n ** 35n + 7n,
      400n * 365n * day,
      -(30n * day),
      -(2n ** 31n),
    ]
    const messages = offsets.map((offset, i) => ({ topic: 't', value: Buffer.from([i]), timestamp: first + offset }))
    const batch = readRecordsBatch(Reader.from(encodeRecordBatch(copy(messages), {}, crc32c) as Buffer))
    expect(batch.records.map((r) => batch.firstTimestamp + r.timestampDelta)).toEqual(messages.map((m) => m.timestamp))
    const theirs = readRecordsBatch(Reader.from(createRecordsBatch(copy(messages), {}).buffer))
    expect(theirs.firstTimestamp + (theirs.records[1] as { timestampDelta: bigint }).timestampDelta).toBeLessThan(first)
  })

  it('leaves to the client what it does not encode: compression, object headers, strings, numbers', () => {
    const value = Buffer.from('v')
    const cases: [string, BatchMessage[], BatchOptions][] = [
      ['compression', [{ topic: 't', value }], { compression: 'gzip' }],
      ['headers object', [{ topic: 't', value, headers: { a: 'b' } }], {}],
      ['string value', [{ topic: 't', value: 'text' as unknown as Buffer }], {}],
      ['string header', [{ topic: 't', value, headers: new Map([['a', 'b']]) }], {}],
      ['number timestamp', [{ topic: 't', value, timestamp: 5 }], {}],
      [
        'timestamps 2^52 ms apart',
        [
          { topic: 't', value, timestamp: 0n },
          { topic: 't', value, timestamp: 2n ** 52n },
        ],
        {},
      ],
      ['no messages', [], {}],
    ]
    for (const [name, messages, options] of cases) {
      expect(encodeRecordBatch(messages, options, crc32c), name).toBeUndefined()
    }
  })
})
