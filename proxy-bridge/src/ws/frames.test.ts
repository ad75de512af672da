import { encodeBinaryProduce, ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { describe, expect, it } from 'vitest'
import { BridgeError } from '../errors.ts'
import { parseClientFrame } from './frames.ts'

const parse = (text: string) => parseClientFrame(Buffer.from(text), false)
const codeOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return (error as BridgeError).code
  }
  return undefined
}

describe('client frame parsing', () => {
  it('accepts the frames of protocol v1', () => {
    expect(parse('{"type":"hello","token":"x"}').frame.type).toBe('hello')
    expect(parse('{"type":"produce","records":[{"seq":1,"value":{"a":1}}]}').frame.type).toBe('produce')
  })

  it('names what is wrong', () => {
    expect(codeOf(() => parse('{'))).toBe(ErrorCodes.BAD_FRAME)
    expect(codeOf(() => parse('[]'))).toBe(ErrorCodes.UNKNOWN_FRAME_TYPE)
    expect(codeOf(() => parse('{"type":"teleport"}'))).toBe(ErrorCodes.UNKNOWN_FRAME_TYPE)
    expect(codeOf(() => parse('{"type":"produce","records":[]}'))).toBe(ErrorCodes.BAD_FRAME)
    expect(codeOf(() => parse('{"type":"produce","records":[{"seq":1.5,"value":1}]}'))).toBe(ErrorCodes.BAD_FRAME)
    expect(codeOf(() => parse('{"type":"hello","extra":1}'))).toBe(ErrorCodes.BAD_FRAME)
  })

  it('says which of records and columns a produce frame lacks or has twice', () => {
    const messageOf = (text: string) => {
      try {
        parse(text)
      } catch (error) {
        return (error as BridgeError).message
      }
      return undefined
    }
    expect(messageOf('{"type":"produce"}')).toBe('produce frame: needs "records" or, in a binary frame, "columns"')
    expect(messageOf('{"type":"produce","records":[{"seq":1,"value":1}],"columns":{"seq":1,"sizes":[1]}}')).toBe(
      'produce frame: has both "records" and "columns"; send one of them',
    )
  })

  it('takes columns headers as one object or one entry per record, and refuses bad ones as in records', () => {
    const binary = (columns: object) =>
      parseClientFrame(Buffer.from(encodeBinaryProduce({ type: 'produce', columns } as never, [])), true)
    const object = binary({ seq: 1, sizes: [0, 0], headers: { line: '3' } }).frame
    expect(object.type === 'produce' && object.columns?.headers).toEqual({ line: '3' })
    const array = binary({ seq: 1, sizes: [0, 0], headers: [{ line: '3' }, null] }).frame
    expect(array.type === 'produce' && array.columns?.headers).toEqual([{ line: '3' }, null])
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v']))
    for (const headers of [many, { ['n'.repeat(129)]: 'v' }, { n: 'v'.repeat(4097) }, { n: 1 }]) {
      const asRecords = codeOf(() =>
        parse(JSON.stringify({ type: 'produce', records: [{ seq: 1, value: 1, headers }] })),
      )
      expect(asRecords).toBe(ErrorCodes.BAD_FRAME)
      expect(codeOf(() => binary({ seq: 1, sizes: [0], headers }))).toBe(asRecords)
      expect(codeOf(() => binary({ seq: 1, sizes: [0, 0], headers: [null, headers] }))).toBe(asRecords)
    }
    // null stands for a record without headers only as an entry of the array.
    expect(codeOf(() => binary({ seq: 1, sizes: [0], headers: null }))).toBe(ErrorCodes.BAD_FRAME)
    expect(codeOf(() => binary({ seq: 1, sizes: [0, 0], headers: [] }))).toBe(ErrorCodes.BAD_FRAME)
    // The failing entry is named, not "must match a schema in anyOf".
    expect(() => binary({ seq: 1, sizes: [0, 0], headers: [null, many] })).toThrow(
      'produce frame: /columns/headers/1 must NOT have more than 32 properties',
    )
  })

  it('splits a binary produce frame into its header and payload', () => {
    const payload = Uint8Array.from([9, 8, 7])
    const frame = encodeBinaryProduce({ type: 'produce', records: [{ seq: 1, value: 3, encoding: 'binary' }] }, [
      payload,
    ])
    const parsed = parseClientFrame(Buffer.from(frame), true)
    expect(parsed.frame.type).toBe('produce')
    expect([...(parsed.binary ?? [])]).toEqual([9, 8, 7])
    expect(codeOf(() => parseClientFrame(Buffer.from([0, 0, 0, 99, 1]), true))).toBe(ErrorCodes.BAD_FRAME)
    expect(() => parseClientFrame(Buffer.from([1]), true)).toThrow(BridgeError)
  })
})
