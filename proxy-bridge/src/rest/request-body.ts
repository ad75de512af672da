import type { IncomingMessage } from 'node:http'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { FastifyRequest } from 'fastify'
import { BridgeError } from '../errors.ts'

/** The media type of the request, lower case, without parameters. */
export function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** The declared body length; undefined for a chunked (streamed) body. */
export function contentLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length']
  return header === undefined || request.headers['transfer-encoding'] !== undefined ? undefined : Number(header)
}

/** The whole body, refused with E_BODY_TOO_LARGE past `limit` bytes. */
export async function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw bodyTooLarge(limit)
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

export function bodyTooLarge(limit: number): BridgeError {
  return new BridgeError(
    ErrorCodes.BODY_TOO_LARGE,
    `the request body is over ${limit} bytes (limits.maxFrameBytes); send fewer records per request, or stream them with Transfer-Encoding: chunked (v3)`,
  )
}
