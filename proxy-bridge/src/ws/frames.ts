import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { type ClientFrame, clientFrameSchemaV1, ErrorCodes, type ServerFrame } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'

const ajv = new Ajv({ allErrors: false, strict: false })
const validators = new Map<string, ValidateFunction>(
  Object.entries(clientFrameSchemaV1).map(([type, schema]) => [type, ajv.compile(schema)]),
)

function describe(errors: ErrorObject[] | null | undefined): string {
  // The one oneOf of v1's client frames: produce's records or columns.
  const oneOf = errors?.find((e) => e.keyword === 'oneOf')
  if (oneOf) {
    return oneOf.params.passingSchemas
      ? 'has both "records" and "columns"; send one of them'
      : 'needs "records" or, in a binary frame, "columns"'
  }
  const error = errors?.[0]
  if (!error) return 'does not match the schema'
  return `${error.instancePath || '(frame)'} ${error.message ?? 'is invalid'}`
}

export interface ParsedFrame {
  frame: ClientFrame
  /** The payload after the JSON header of a binary frame. */
  binary?: Buffer
}

/**
 * Parses one WebSocket message into a client frame, or throws the error the
 * client gets back: malformed JSON, an unknown type, a schema violation.
 */
export function parseClientFrame(data: Buffer, isBinary: boolean): ParsedFrame {
  let json: string
  let binary: Buffer | undefined
  if (isBinary) {
    if (data.length < 4)
      throw new BridgeError(ErrorCodes.BAD_FRAME, 'a binary frame starts with a 4-byte header length')
    const headerLength = data.readUInt32BE(0)
    if (4 + headerLength > data.length) {
      throw new BridgeError(ErrorCodes.BAD_FRAME, `binary frame header length ${headerLength} exceeds the frame`)
    }
    json = data.toString('utf8', 4, 4 + headerLength)
    binary = data.subarray(4 + headerLength)
  } else {
    json = data.toString('utf8')
  }
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (error) {
    throw new BridgeError(ErrorCodes.BAD_FRAME, `frame is not valid JSON: ${(error as Error).message}`)
  }
  const type = value && typeof value === 'object' && 'type' in value ? (value as { type: unknown }).type : undefined
  const validate = typeof type === 'string' ? validators.get(type) : undefined
  if (!validate) {
    throw new BridgeError(
      ErrorCodes.UNKNOWN_FRAME_TYPE,
      `unknown frame type ${JSON.stringify(type)}; protocol v1 accepts ${[...validators.keys()].join(', ')}`,
    )
  }
  if (!validate(value)) throw new BridgeError(ErrorCodes.BAD_FRAME, `${type} frame: ${describe(validate.errors)}`)
  if (binary && type !== 'produce') throw new BridgeError(ErrorCodes.BAD_FRAME, 'only produce frames may be binary')
  return binary ? { frame: value as ClientFrame, binary } : { frame: value as ClientFrame }
}

export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame)
}
