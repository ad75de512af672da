import { encodeBinaryFrame, ErrorCodes, type ProduceFrame } from '@kafka-edge/edge-agent/protocol'
import { describe, expect, it } from 'vitest'
import { defaultTopics } from '../config.ts'
import type { BridgeError } from '../errors.ts'
import type { EncodedRecord } from '../kafka/device-writer.ts'
import type { TopicCatalog } from '../kafka/topic-catalog.ts'
import { parseClientFrame } from '../ws/frames.ts'
import { type DecodeContext, decodeProduce } from './records.ts'

const catalog = { exists: async () => true } as unknown as TopicCatalog

/** A binary produce frame through the bridge's parser and decoder, as a device session takes it. */
function decode(header: object, payload: Uint8Array, maxRecordBytes = 1024): Promise<EncodedRecord[]> {
  const { frame, binary } = parseClientFrame(Buffer.from(encodeBinaryFrame(JSON.stringify(header), [payload])), true)
  const context: DecodeContext = {
    identity: { deviceId: 'press-07', groups: [], topics: [], expiresAt: Date.now() + 60_000 },
    topics: defaultTopics,
    maxRecordBytes,
    catalog,
    binary,
    receivedAt: Date.now(),
  }
  return decodeProduce(frame as ProduceFrame, context)
}

async function codeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work()
  } catch (error) {
    return (error as BridgeError).code
  }
  return undefined
}

/** Each record's headers as [name, value] strings, in the order Kafka gets them. */
const headersOf = (records: EncodedRecord[]) =>
  records.map((r) => [...r.headers].map(([k, v]) => [k.toString('utf8'), v.toString('utf8')]))

const produce = (columns: object) => ({ type: 'produce', columns })
const six = Uint8Array.of(1, 2, 3, 4, 5, 6)

describe('decodeProduce, columns with headers (§6.3)', () => {
  it('gives every record the headers of the object form, encoded once', async () => {
    const records = await decode(produce({ seq: 1, sizes: [2, 4], headers: { line: '3', ünit: '°C' } }), six)
    expect(headersOf(records)).toEqual([
      [
        ['line', '3'],
        ['ünit', '°C'],
      ],
      [
        ['line', '3'],
        ['ünit', '°C'],
      ],
    ])
    expect(records[0]?.headers).toBe(records[1]?.headers)
    expect(records.map((r) => [...r.value])).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ])
  })

  it('gives each record its entry of the array form, none for null', async () => {
    const headers = [{ line: '3' }, null, { '17': 'b', a: 'x' }]
    const records = await decode(produce({ seq: 5, sizes: [1, 2, 3], headers }), six)
    // Integer-like names first: JavaScript property order, as for records (§6.4).
    expect(headersOf(records)).toEqual([
      [['line', '3']],
      [],
      [
        ['17', 'b'],
        ['a', 'x'],
      ],
    ])
    expect(records.map((r) => r.seq)).toEqual([5, 6, 7])
  })

  it('writes the same headers as the same records sent as records', async () => {
    const headers = [{ line: '3' }, null]
    const columns = await decode(produce({ seq: 1, sizes: [2, 4], headers }), six)
    const records = await decode(
      {
        type: 'produce',
        records: [
          { seq: 1, value: 2, encoding: 'binary', headers: { line: '3' } },
          { seq: 2, value: 4, encoding: 'binary' },
        ],
      },
      six,
    )
    expect(headersOf(columns)).toEqual(headersOf(records))
  })

  it('shares one empty map among records without headers', async () => {
    const records = await decode(produce({ seq: 1, sizes: [2, 4] }), six)
    expect(records[0]?.headers.size).toBe(0)
    expect(records[0]?.headers).toBe(records[1]?.headers)
  })

  it('refuses an array of another length than sizes with E_BAD_FRAME', async () => {
    expect(await codeOf(() => decode(produce({ seq: 1, sizes: [2, 4], headers: [{ a: 'b' }] }), six))).toBe(
      ErrorCodes.BAD_FRAME,
    )
    const long = produce({ seq: 1, sizes: [2, 4], headers: [null, null, { a: 'b' }] })
    await expect(decode(long, six)).rejects.toThrow('2 sizes but 3 headers')
  })

  it('refuses what records[].headers refuses, with the same code', async () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v']))
    for (const headers of [many, { ['n'.repeat(129)]: 'v' }, { n: 'v'.repeat(4097) }, { n: 1 }]) {
      const asRecords = await codeOf(() =>
        decode({ type: 'produce', records: [{ seq: 1, value: 6, encoding: 'binary', headers }] }, six),
      )
      expect(asRecords).toBe(ErrorCodes.BAD_FRAME)
      expect(await codeOf(() => decode(produce({ seq: 1, sizes: [6], headers }), six))).toBe(asRecords)
      expect(await codeOf(() => decode(produce({ seq: 1, sizes: [6], headers: [headers] }), six))).toBe(asRecords)
    }
  })

  it('counts header bytes toward maxRecordBytes as for records (E_RECORD_TOO_LARGE)', async () => {
    // 6 value bytes + "ab" + "cd" (4 UTF-8 bytes): 10 fits a limit of 10, not of 9.
    const header = { ab: 'cd' }
    const asRecords = (max: number) =>
      decode({ type: 'produce', records: [{ seq: 1, value: 6, encoding: 'binary', headers: header }] }, six, max)
    const object = (max: number) => decode(produce({ seq: 1, sizes: [6], headers: header }), six, max)
    const array = (max: number) => decode(produce({ seq: 1, sizes: [2, 4], headers: [null, header] }), six, max)
    expect(await asRecords(10)).toHaveLength(1)
    expect(await object(10)).toHaveLength(1)
    expect(await array(8)).toHaveLength(2)
    expect(await codeOf(() => asRecords(9))).toBe(ErrorCodes.RECORD_TOO_LARGE)
    expect(await codeOf(() => object(9))).toBe(ErrorCodes.RECORD_TOO_LARGE)
    await expect(array(7)).rejects.toThrow('record seq 2 is 8 bytes')
    // UTF-8 bytes, not characters: "é" is 2.
    expect(await codeOf(() => decode(produce({ seq: 1, sizes: [6], headers: { ab: 'cé' } }), six, 10))).toBe(
      ErrorCodes.RECORD_TOO_LARGE,
    )
  })
})
