import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ValidateFunction } from 'ajv'
import { describe, expect, it } from 'vitest'
import { protocolSchemaPath, renderProtocolSchema } from '../../scripts/write-protocol-schema.ts'
import { clientFrameSchemaV1, frameSchemasV1, serverFrameSchemaV1 } from './schema-v1.ts'
import { CloseCodes, ErrorCodes, encodeBinaryProduce } from './v1.ts'

const protocolDoc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8')
const committed = readFileSync(protocolSchemaPath, 'utf8')

type Schemas = Record<string, object>

/** One validator per frame type, compiled from the committed docs/protocol-v1.schema.json. */
function validators(pick: (doc: { definitions: { client: Schemas; server: Schemas } }) => Schemas) {
  const ajv = new Ajv({ allErrors: true, strict: true })
  const doc = JSON.parse(committed) as { definitions: { client: Schemas; server: Schemas } }
  return new Map<string, ValidateFunction>(Object.entries(pick(doc)).map(([type, s]) => [type, ajv.compile(s)]))
}

const client = validators((doc) => doc.definitions.client)
const server = validators((doc) => doc.definitions.server)

function accepts(frame: unknown, set = client): boolean {
  const type = (frame as { type: string }).type
  const validate = set.get(type)
  if (!validate) throw new Error(`no schema for frame type ${type}`)
  return validate(frame) as boolean
}

/** Every ```json block of docs/protocol.md that is a frame (has a "type"). */
function docFrames(): { type: string; frame: unknown }[] {
  const frames: { type: string; frame: unknown }[] = []
  for (const match of protocolDoc.matchAll(/```json\n([\s\S]*?)```/g)) {
    const value = JSON.parse(match[1] as string) as { type?: unknown }
    if (typeof value.type === 'string') frames.push({ type: value.type, frame: value })
  }
  return frames
}

describe('docs/protocol-v1.schema.json', () => {
  it('is exactly what edge-agent/scripts/write-protocol-schema.ts generates from frameSchemasV1', () => {
    expect(committed, 'run: npx tsx edge-agent/scripts/write-protocol-schema.ts').toBe(renderProtocolSchema())
    expect(JSON.stringify(JSON.parse(committed))).toBe(JSON.stringify(frameSchemasV1))
    expect(committed.endsWith('}\n')).toBe(true)
  })

  it('is documented: docs/protocol.md names every error code and close code', () => {
    for (const code of Object.values(ErrorCodes)) expect(protocolDoc).toContain(`\`${code}\``)
    for (const code of Object.values(CloseCodes)) expect(protocolDoc).toMatch(new RegExp(`\\| ${code} \\|`))
  })

  it('has a schema for every client and server frame type', () => {
    expect([...client.keys()].sort()).toEqual(Object.keys(clientFrameSchemaV1).sort())
    expect([...server.keys()].sort()).toEqual(Object.keys(serverFrameSchemaV1).sort())
  })
})

describe('frames of protocol v1', () => {
  it('accepts every frame shown in docs/protocol.md', () => {
    const frames = docFrames()
    const types = new Set(frames.map((f) => f.type))
    for (const type of [...client.keys(), ...server.keys()]) expect(types, `an example of ${type}`).toContain(type)
    for (const { type, frame } of frames) {
      const set = client.has(type) ? client : server
      expect(accepts(frame, set), `${type}: ${JSON.stringify(frame)}`).toBe(true)
    }
  })

  it('accepts hello with or without a token', () => {
    expect(accepts({ type: 'hello' })).toBe(true)
    expect(
      accepts({ type: 'hello', token: 'eyJ.eyJ.sig', agent: { name: 'kafka-edge-agent', version: '0.1.0' } }),
    ).toBe(true)
    expect(accepts({ type: 'hello', exact: true })).toBe(true)
    expect(accepts({ type: 'hello', exact: 'yes' })).toBe(false)
    expect(accepts({ type: 'hello', token: '' })).toBe(false)
    expect(accepts({ type: 'hello', agent: { name: 'kafka-edge-agent' } })).toBe(false)
  })

  it('accepts produce with each encoding', () => {
    const frame = (record: Record<string, unknown>) => ({
      type: 'produce',
      id: 'f-1',
      records: [{ seq: 1, ...record }],
    })
    expect(accepts(frame({ value: { temp: 21.5 } }))).toBe(true)
    expect(accepts(frame({ value: null, encoding: 'json' }))).toBe(true)
    expect(accepts(frame({ value: '221.0;OK', encoding: 'text', headers: { line: '3' } }))).toBe(true)
    expect(accepts(frame({ value: 'AAECA/7/', encoding: 'base64', timestamp: 1767225600123 }))).toBe(true)
    expect(accepts(frame({ value: 5, encoding: 'binary', topic: 'telemetry.press' }))).toBe(true)
    expect(accepts(frame({ value: 'x', encoding: 'utf16' }))).toBe(false)
  })

  it('rejects invalid produce frames', () => {
    const produce = (records: unknown[]) => ({ type: 'produce', records })
    expect(accepts(produce([{ seq: 0, value: 1 }])), 'seq 0').toBe(false)
    expect(accepts(produce([{ seq: 1.5, value: 1 }])), 'fractional seq').toBe(false)
    expect(accepts(produce([{ seq: 1 }])), 'no value').toBe(false)
    expect(accepts(produce([])), 'no records').toBe(false)
    expect(accepts(produce([{ seq: 1, value: 1, key: 'other-device' }])), 'record key').toBe(false)
    expect(accepts(produce([{ seq: 1, value: 1, topic: 'bad topic' }])), 'topic name').toBe(false)
    expect(accepts(produce([{ seq: 1, value: 1, headers: { n: 1 } }])), 'header value').toBe(false)
    expect(accepts(produce([{ seq: 1, value: 1, timestamp: -1 }])), 'timestamp').toBe(false)
  })

  it('accepts produce with columns, and exactly one of records and columns', () => {
    const columns = { seq: 46, sizes: [3, 0, 2] }
    expect(accepts({ type: 'produce', id: 'f-20', columns })).toBe(true)
    expect(accepts({ type: 'produce', columns: { ...columns, topic: 'telemetry.press' } })).toBe(true)
    expect(accepts({ type: 'produce', columns: { ...columns, timestampDeltas: [1767225600123, -5, 0] } })).toBe(true)
    const produce = (c: unknown) => ({ type: 'produce', columns: c })
    expect(accepts({ type: 'produce' }), 'neither').toBe(false)
    expect(accepts({ type: 'produce', records: [{ seq: 1, value: 1 }], columns }), 'both').toBe(false)
    expect(accepts(produce({ seq: 0, sizes: [1] })), 'seq 0').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [] })), 'no sizes').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [-1] })), 'negative size').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [1.5] })), 'fractional size').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [1], timestampDeltas: [0.5] })), 'fractional delta').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [1], topic: 'bad topic' })), 'topic name').toBe(false)
    expect(accepts(produce({ seq: 1, sizes: [1], key: 'other-device' })), 'key').toBe(false)
  })

  it("accepts columns headers as one object or one entry (or null) per record, each a record's headers", () => {
    const produce = (headers: unknown) => ({ type: 'produce', columns: { seq: 1, sizes: [1, 2], headers } })
    expect(accepts(produce({ line: '3' })), 'object').toBe(true)
    expect(accepts(produce({})), 'empty object').toBe(true)
    expect(accepts(produce([{ line: '3' }, null])), 'array with null').toBe(true)
    expect(accepts(produce([null, null])), 'array of null').toBe(true)
    // The schema does not know sizes' length: the bridge checks it (E_BAD_FRAME).
    expect(accepts(produce([{ line: '3' }])), 'array shorter than sizes').toBe(true)
    expect(accepts(produce([])), 'empty array').toBe(false)
    expect(accepts(produce(null)), 'null').toBe(false)
    expect(accepts(produce('line=3')), 'string').toBe(false)
    expect(accepts(produce([[{ line: '3' }]])), 'nested array').toBe(false)
    // Whatever records[].headers refuses, both forms refuse.
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, 'v']))
    const refused = [{ n: 1 }, { '': 'v' }, { ['n'.repeat(129)]: 'v' }, { n: 'v'.repeat(4097) }, many]
    for (const headers of refused) {
      const record = { type: 'produce', records: [{ seq: 1, value: 1, headers }] }
      expect(accepts(record), `records: ${JSON.stringify(headers).slice(0, 40)}`).toBe(false)
      expect(accepts(produce(headers)), `object: ${JSON.stringify(headers).slice(0, 40)}`).toBe(false)
      expect(accepts(produce([null, headers])), `array: ${JSON.stringify(headers).slice(0, 40)}`).toBe(false)
    }
    const most = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`h${i}`, 'v'.repeat(4096)]))
    expect(accepts(produce([most, { ['n'.repeat(128)]: '' }])), 'at the limits').toBe(true)
  })

  it('rejects unknown extra fields in every client frame', () => {
    expect(accepts({ type: 'hello', version: 2 })).toBe(false)
    expect(accepts({ type: 'produce', records: [{ seq: 1, value: 1 }], partition: 0 })).toBe(false)
    expect(accepts({ type: 'token', token: 'eyJ.eyJ.sig', sub: 'press-07' })).toBe(false)
    expect(accepts({ type: 'ping', t: 1, extra: true })).toBe(false)
  })

  it('lays a binary produce frame out as [uint32 BE header length][header JSON][payload]', () => {
    const header = {
      type: 'produce' as const,
      id: 'f-19',
      records: [
        { seq: 46, value: 3, encoding: 'binary' as const },
        { seq: 47, value: { ok: true } },
        { seq: 48, value: 2, encoding: 'binary' as const },
      ],
    }
    const bytes = encodeBinaryProduce(header, [Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5])])
    // docs/protocol.md §6.3: this header is 155 bytes.
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x00, 0x00, 0x9b])
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + 155)))).toEqual(header)
    expect([...bytes.subarray(4 + 155)]).toEqual([1, 2, 3, 4, 5])
    expect(accepts(header)).toBe(true)
  })
})
