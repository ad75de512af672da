import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken, type DeviceIdentity, type TokenVerifier } from '../auth/tokens.ts'
import type { BridgeConfig } from '../config.ts'
import { BridgeError, httpStatusOf } from '../errors.ts'
import { LogReader, type LogRecord } from '../kafka/log-reader.ts'
import { PartitionTail } from '../kafka/partition-tail.ts'
import { mayStream } from '../auth/topic-acl.ts'
import { decodeValue, headersObject } from '../subscriptions/delivered-record.ts'

/** Records replayed per partition when a stream starts without a position (`?tail=` overrides, up to maxTail). */
export const defaultTail = 20
const maxTail = 1000
/** Bytes a client may leave unread before it is dropped: a slow reader never grows the bridge's memory. */
export const maxBufferedBytes = 1024 * 1024
/** Open streams per bridge; more are refused with E_RATE_LIMITED. */
export const maxStreams = 256
/** A comment line this often keeps proxies from closing an idle stream. */
const keepAliveMs = 15_000
/** Records with bigger values carry `valueTruncated: true` and no value. */
const maxValueBytes = 64 * 1024

/** Request URLs as logs show them: an event stream's ?access_token= is a credential. */
export function redactAccessToken(url: string | undefined): string | undefined {
  return url?.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]')
}

/** `0:15,1:7`: for each partition, the offset the next record read will have. */
export function encodePositions(positions: Map<number, bigint>): string {
  return [...positions]
    .sort(([a], [b]) => a - b)
    .map(([p, o]) => `${p}:${o}`)
    .join(',')
}

/** The positions of a Last-Event-ID, or undefined when it is not one this endpoint wrote. */
export function decodePositions(text: string): Map<number, bigint> | undefined {
  const positions = new Map<number, bigint>()
  for (const part of text.split(',')) {
    const match = /^(\d{1,6}):(\d{1,19})$/.exec(part.trim())
    if (!match) return undefined
    positions.set(Number(match[1]), BigInt(match[2] as string))
  }
  return positions.size > 0 ? positions : undefined
}

/** One record as the `data:` of an event: a JSON value when the bytes are JSON, else text or base64. */
export function eventData(record: LogRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset.toString(),
    timestamp: Number(record.timestamp),
    key: record.key ? record.key.toString('utf8') : null,
    headers: headersObject(record),
  }
  const value = record.value
  if (value === null) return { ...out, value: null }
  if (value.length > maxValueBytes) return { ...out, value: null, valueTruncated: true, valueBytes: value.length }
  const { text, encoding } = decodeValue(value)
  if (encoding === 'base64') return { ...out, value: text, valueEncoding: 'base64' }
  try {
    return { ...out, value: JSON.parse(text), valueEncoding: 'json' }
  } catch {
    return { ...out, value: text, valueEncoding: 'text' }
  }
}

function fail(reply: FastifyReply, error: BridgeError): FastifyReply {
  const status = httpStatusOf[error.code]
  if (status === 401) reply.header('www-authenticate', 'Bearer')
  if (error.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(error.retryAfterMs / 1000))
  return reply.code(status).send({ error_code: status, message: error.message, code: error.code })
}

interface EventsRequest {
  Params: { topic: string }
  Querystring: { access_token?: string; tail?: string; last_event_id?: string }
}

/**
 * GET /v1/topics/{topic}/events: Server-Sent Events of a topic's committed
 * records (read_committed, no consumer group), every event's id the resume
 * position. Browsers' EventSource cannot set headers, so this endpoint alone
 * also takes the token as ?access_token=. docs/rest.md, "Topic events".
 */
export function topicEventRoutes(app: FastifyInstance, config: BridgeConfig, verifier: TokenVerifier): void {
  // One Kafka client for every stream of this bridge; each stream keeps its own positions.
  let reader: LogReader | undefined
  const streams = new Set<() => void>()
  // Streams end before the server closes (it waits for open connections), the reader after.
  app.addHook('preClose', async () => {
    for (const end of streams) end()
  })
  app.addHook('onClose', async () => {
    await reader?.close()
  })

  app.get<EventsRequest>('/v1/topics/:topic/events', async (request, reply) => {
    let identity: DeviceIdentity
    try {
      identity = await authenticate(request, verifier)
    } catch (error) {
      if (error instanceof BridgeError) return fail(reply, error)
      throw error
    }
    const { topic } = request.params
    if (!mayStream(identity, topic, config.topics)) {
      return fail(reply, new BridgeError(ErrorCodes.TOPIC_DENIED, `the token does not allow reading topic "${topic}"`))
    }
    if (streams.size >= maxStreams) {
      return fail(
        reply,
        new BridgeError(ErrorCodes.RATE_LIMITED, `this bridge already serves ${maxStreams} event streams`, {
          retryAfterMs: 5000,
        }),
      )
    }
    const tail = Math.min(maxTail, Math.max(0, Number(request.query.tail ?? defaultTail) || 0))
    reader ??= new LogReader(config.kafka.brokers, `${config.kafka.clientId}-topic-events`)
    let from: Map<number, bigint>
    try {
      from = await startPositions(reader, topic, request, tail)
    } catch (error) {
      if (error instanceof BridgeError) return fail(reply, error)
      request.log.warn({ err: error, topic }, 'topic events: cannot read the topic')
      return fail(
        reply,
        new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'the bridge cannot read this topic from Kafka now', {
          retryable: true,
          retryAfterMs: 2000,
        }),
      )
    }

    reply.hijack()
    const out = reply.raw
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    // The client reconnects after 2 s when the stream breaks (EventSource's own retry).
    out.write(`retry: 2000\n: ${topic} from ${encodePositions(from)}\n\n`)
    const sent = new Map(from)
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      streams.delete(end)
      clearInterval(keepAlive)
      void tailer.stop()
      out.end()
    }
    const tailer = new PartitionTail(
      reader,
      topic,
      from,
      (records) => {
        if (ended) return
        for (const record of records) {
          sent.set(record.partition, record.offset + 1n)
          out.write(`id: ${encodePositions(sent)}\nevent: record\ndata: ${JSON.stringify(eventData(record))}\n\n`)
        }
        if (out.writableLength > maxBufferedBytes) {
          request.log.info({ topic, buffered: out.writableLength }, 'topic events: dropping a slow reader')
          out.destroy()
          end()
        }
      },
      (error) => request.log.debug({ err: error, topic }, 'topic events: fetch failed; retrying'),
    )
    const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), keepAliveMs)
    streams.add(end)
    out.on('close', end)
    tailer.start()
  })
}

async function authenticate(request: FastifyRequest<EventsRequest>, verifier: TokenVerifier): Promise<DeviceIdentity> {
  const authorization = request.headers.authorization
  const token = authorization !== undefined ? bearerToken(authorization) : request.query.access_token
  if (authorization !== undefined && !token) {
    throw new BridgeError(ErrorCodes.TOKEN_INVALID, 'the Authorization header must be "Bearer <jwt>"')
  }
  if (!token) {
    throw new BridgeError(
      ErrorCodes.AUTH_REQUIRED,
      'send the token as "Authorization: Bearer <jwt>" or, from an EventSource, as ?access_token=<jwt>',
    )
  }
  return verifier.verify(token)
}

/** Last-Event-ID (header, or ?last_event_id= for a page that kept it) resumes; otherwise the last `tail` records. */
async function startPositions(
  reader: LogReader,
  topic: string,
  request: FastifyRequest<EventsRequest>,
  tail: number,
): Promise<Map<number, bigint>> {
  const partitions = await reader.partitions(topic).catch((error: unknown) => {
    if (/not found|unknown topic/i.test(String((error as Error).message))) {
      throw new BridgeError(ErrorCodes.TOPIC_UNKNOWN, `topic "${topic}" does not exist`)
    }
    throw error
  })
  const lastEventId = request.headers['last-event-id'] ?? request.query.last_event_id
  const ends = await reader.endOffsets(topic)
  const from = new Map<number, bigint>()
  const resume = typeof lastEventId === 'string' && lastEventId !== '' ? decodePositions(lastEventId) : undefined
  if (typeof lastEventId === 'string' && lastEventId !== '' && !resume) {
    throw new BridgeError(ErrorCodes.BAD_REQUEST, 'Last-Event-ID is not a position this endpoint sent (p:offset,...)')
  }
  for (let p = 0; p < partitions; p++) {
    const end = ends[p] ?? 0n
    const at = resume ? (resume.get(p) ?? 0n) : end - BigInt(tail)
    // Offsets below the log start are answered from the start (LogReader); beyond the end, from the end.
    from.set(p, at < 0n ? 0n : at > end ? end : at)
  }
  return from
}
