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
