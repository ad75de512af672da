import { PassThrough } from 'node:stream'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DeviceIdentity } from '../auth/tokens.ts'
import { asBridgeError, BridgeError } from '../errors.ts'
import { replyError } from '../rest/error-reply.ts'
import type { IngestContext } from '../ingest/context.ts'
import { mayProduce } from '../auth/topic-acl.ts'
import { ClusterId } from '../rest/cluster-id.ts'
import { pumpReports } from '../rest/report-stream.ts'
import { bodyTooLarge, contentLength, mediaType, readBody } from '../rest/request-body.ts'
import { ConcatenatedJsonSplitter, type JsonSegment } from '../rest/concatenated-json.ts'
import { decodeV2Records, decodeV3Record, type RestRecord, type V2Format } from '../rest/confluent-records.ts'
import { IDEMPOTENCY_HEADER, IdempotencyLocks, idempotencyKeyHash } from '../rest/idempotency.ts'
import { deliveryReport, errorBody, v2Response } from '../rest/reports.ts'
import { type Outcome, RestRequestWriter } from '../rest/request-writer.ts'

export const V3_PRODUCE_PATH = '/v3/clusters/:clusterId/topics/:topic/records'
export const V2_PRODUCE_PATH = '/topics/:topic'

const v2Formats: Record<string, V2Format> = {
  'application/vnd.kafka.json.v2+json': 'json',
  'application/vnd.kafka.binary.v2+json': 'binary',
}

interface Admitted {
  ctx: IngestContext
  identity: DeviceIdentity
  topic: string
  keyHash: string | undefined
}

/** The streamed answer; a client that hangs up ends it, and nothing written after that can throw. */
function reportStream(reply: FastifyReply): PassThrough {
  const out = new PassThrough()
  out.on('error', () => {})
  reply.raw.once('close', () => {
    if (!out.writableEnded) out.destroy()
  })
  return out
}

/**
 * Confluent REST Proxy compatible produce (docs/rest.md): v3 records, one or
 * streamed, and v2 batches. Same token and topic ACL as the WebSocket; the
 * key is always the device id; an Idempotency-Key makes a request exactly-once.
 */
export function restProduceRoutes(
  app: FastifyInstance,
  ingest: () => IngestContext | undefined,
  isDraining: () => boolean,
): void {
  const locks = new IdempotencyLocks()
  let clusterId: ClusterId | undefined

  async function admit(request: FastifyRequest, topic: string, mediaOk: boolean, mediaHelp: string) {
    if (isDraining()) {
      throw new BridgeError(ErrorCodes.SHUTTING_DOWN, 'the bridge is shutting down; retry on another instance', {
        retryable: true,
      })
    }
    const ctx = ingest()
    if (!ctx) {
      throw new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'the bridge has not reached Kafka yet; retry with backoff', {
        retryable: true,
        retryAfterMs: 1000,
      })
    }
    const identity = await ctx.verifier.verifyAuthorization(request.headers.authorization)
    if (!mediaOk) throw new BridgeError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, mediaHelp)
    if (!mayProduce(identity, topic, ctx.config.topics)) {
      throw new BridgeError(ErrorCodes.TOPIC_DENIED, `topic "${topic}" is not in this device's token (claim "topics")`)
    }
    if (!(await ctx.catalog.exists(topic))) {
      throw new BridgeError(
        ErrorCodes.TOPIC_UNKNOWN,
        `topic "${topic}" does not exist in Kafka; create it or fix the name`,
      )
    }
    const keyHash = idempotencyKeyHash(request.headers[IDEMPOTENCY_HEADER])
    const length = contentLength(request)
    if (length !== undefined && length > ctx.config.limits.maxFrameBytes)
      throw bodyTooLarge(ctx.config.limits.maxFrameBytes)
    return { ctx, identity, topic, keyHash } satisfies Admitted
  }

  function fail(reply: FastifyReply, error: unknown): FastifyReply {
    ingest()?.metrics.errors.inc({ code: asBridgeError(error).code })
    // The rest of a refused body is not read: close rather than drain it.
    if (!reply.request.raw.readableEnded) reply.header('connection', 'close')
    return replyError(reply, error)
  }

  app.register(async (scope) => {
    // Bodies are read by the handlers: v3 streams records as they arrive.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null))

    scope.post<{ Params: { clusterId: string; topic: string } }>(V3_PRODUCE_PATH, async (request, reply) => {
      let admitted: Admitted
      try {
        admitted = await admit(
          request,
          request.params.topic,
          mediaType(request) === 'application/json',
          'v3 produce takes Content-Type: application/json (one record, or concatenated records streamed)',
        )
        clusterId ??= new ClusterId(admitted.ctx.config.kafka.brokers, admitted.ctx.config.kafka.clientId)
        const id = await clusterId.get().catch(() => {
          throw new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, 'cannot read the cluster id from Kafka', {
            retryable: true,
            retryAfterMs: 1000,
          })
        })
        if (request.params.clusterId !== id) {
          throw new BridgeError(
            ErrorCodes.CLUSTER_UNKNOWN,
            `cluster "${request.params.clusterId}" is not this bridge's Kafka cluster ("${id}")`,
          )
        }
        return await produceV3(request, reply, admitted, id)
      } catch (error) {
        return fail(reply, error)
      }
    })

    scope.post<{ Params: { topic: string } }>(V2_PRODUCE_PATH, async (request, reply) => {
      const format = v2Formats[mediaType(request)]
      try {
        const admitted = await admit(
          request,
          request.params.topic,
          format !== undefined,
          'v2 produce takes Content-Type: application/vnd.kafka.json.v2+json or application/vnd.kafka.binary.v2+json (Schema Registry formats are not supported)',
        )
        return await produceV2(request, reply, admitted, format as V2Format)
      } catch (error) {
        return fail(reply, error)
      }
    })
  })

  async function produceV2(request: FastifyRequest, reply: FastifyReply, admitted: Admitted, format: V2Format) {
    const { ctx, identity, topic, keyHash } = admitted
    const { limits } = ctx.config
    const body = await readBody(request.raw, limits.maxFrameBytes)
    ctx.metrics.bytesReceived.inc({ transport: 'rest' }, body.length)
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString('utf8'))
    } catch (error) {
      throw new BridgeError(ErrorCodes.BAD_REQUEST, `the body is not valid JSON: ${(error as Error).message}`)
    }
    const records = decodeV2Records(parsed, format, limits, Date.now())
    ctx.metrics.recordsReceived.inc({ transport: 'rest' }, records.length)
    const writer = new RestRequestWriter(ctx, identity, topic, keyHash, locks)
    let outcomes: Outcome[]
    try {
      await writer.open()
      outcomes = await Promise.all(writer.submit(0, records))
    } finally {
      await writer.close()
    }
    const failed = outcomes.find((o) => !o.ok)
    if (failed && !failed.ok) throw failed.error
    const deliveries = outcomes.flatMap((o) => (o.ok ? [o.delivery] : []))
    if (deliveries.every((d) => d.replayed)) reply.header('idempotency-replayed', 'true')
    return reply.header('content-type', 'application/vnd.kafka.v2+json').send(v2Response(deliveries))
  }

  async function produceV3(request: FastifyRequest, reply: FastifyReply, admitted: Admitted, clusterId: string) {
    const { ctx, identity, topic } = admitted
    const { limits } = ctx.config
    // A record's JSON may be larger than its bytes (base64, escapes, headers).
    const splitter = new ConcatenatedJsonSplitter(limits.maxRecordBytes * 2 + 16 * 1024)
    const length = contentLength(request)
    const writer = new RestRequestWriter(ctx, identity, topic, admitted.keyHash, locks)
    try {
      await writer.open()
    } catch (error) {
      await writer.close()
      throw error
    }

    let index = 0
    const decode = (segment: JsonSegment): RestRecord | BridgeError => {
      if (segment.kind === 'oversized') {
        return new BridgeError(
          ErrorCodes.RECORD_TOO_LARGE,
          `the record's JSON is ${segment.size} bytes, far over limits.maxRecordBytes (${limits.maxRecordBytes})`,
        )
      }
      if (segment.kind === 'broken') return new BridgeError(ErrorCodes.BAD_REQUEST, segment.message)
      try {
        return decodeV3Record(JSON.parse(segment.bytes.toString('utf8')), limits.maxRecordBytes, Date.now())
      } catch (error) {
        if (error instanceof SyntaxError) {
          return new BridgeError(ErrorCodes.BAD_REQUEST, `the record is not valid JSON: ${error.message}`)
        }
        return asBridgeError(error)
      }
    }
    const report = (record: RestRecord | BridgeError, outcome: Outcome | undefined): object => {
      if (record instanceof BridgeError) {
        ctx.metrics.errors.inc({ code: record.code })
        return errorBody(record)
      }
      if (!outcome?.ok) {
        const error = outcome?.error ?? new BridgeError(ErrorCodes.INTERNAL, 'no outcome')
        ctx.metrics.errors.inc({ code: error.code })
        return errorBody(error)
      }
      return deliveryReport(clusterId, topic, identity.deviceId, record, outcome.delivery)
    }
    /** Reports of the segments, in order; consecutive good records are written together. */
    const handle = (segments: JsonSegment[]): Promise<object>[] => {
      const decoded = segments.map(decode)
      ctx.metrics.recordsReceived.inc({ transport: 'rest' }, decoded.filter((d) => !(d instanceof BridgeError)).length)
      const out: Promise<object>[] = []
      let i = 0
      while (i < decoded.length) {
        const first = decoded[i] as RestRecord | BridgeError
        if (first instanceof BridgeError) {
          out.push(Promise.resolve(report(first, undefined)))
          i++
          continue
        }
        let end = i
        while (end < decoded.length && !(decoded[end] instanceof BridgeError)) end++
        const run = decoded.slice(i, end) as RestRecord[]
        const outcomes = writer.submit(index + i, run)
        run.forEach((record, k) => {
          out.push((outcomes[k] as Promise<Outcome>).then((o) => report(record, o)))
        })
        i = end
      }
      index += decoded.length
      return out
    }

    if (length !== undefined) {
      // A bounded body: one record is answered with its own HTTP status, like Confluent's non-streamed call.
      let segments: JsonSegment[]
      try {
        const body = await readBody(request.raw, limits.maxFrameBytes)
        ctx.metrics.bytesReceived.inc({ transport: 'rest' }, body.length)
        segments = [...splitter.push(body), ...splitter.end()]
      } catch (error) {
        await writer.close()
        throw error
      }
      if (segments.length === 0) {
        await writer.close()
        throw new BridgeError(ErrorCodes.BAD_REQUEST, 'the body holds no record')
      }
      if (segments.length === 1) {
        const [only] = await Promise.all(handle(segments))
        await writer.close()
        const status = (only as { error_code: number }).error_code
        return reply.code(status).header('content-type', 'application/json').send(only)
      }
      const out = reportStream(reply)
      void pumpReports(out, writer, limits.creditRecords, async (emit) => {
        for (const p of handle(segments)) await emit(p)
      })
      return reply.code(200).header('content-type', 'application/json').send(out)
    }

    const out = reportStream(reply)
    void pumpReports(out, writer, limits.creditRecords, async (emit, stopped) => {
      for await (const chunk of request.raw as AsyncIterable<Buffer>) {
        // After a fatal error the rest of the body is read and dropped, so the response can end cleanly.
        if (stopped()) continue
        ctx.metrics.bytesReceived.inc({ transport: 'rest' }, chunk.length)
        let fatal: BridgeError | undefined
        if (isDraining())
          fatal = new BridgeError(
            ErrorCodes.SHUTTING_DOWN,
            'the bridge is shutting down; resend the records without a delivery report to another instance',
            { retryable: true },
          )
        else if (identity.expiresAt <= Date.now())
          fatal = new BridgeError(
            ErrorCodes.TOKEN_EXPIRED,
            'the token expired during the stream; send the remaining records with a new token',
          )
        if (fatal) {
          ctx.metrics.errors.inc({ code: fatal.code })
          await emit(Promise.resolve(errorBody(fatal)), true)
          continue
        }
        const segments = splitter.push(chunk)
        const reports = handle(segments)
        for (const [k, p] of reports.entries()) await emit(p, segments[k]?.kind === 'broken')
      }
      for (const p of handle(splitter.end())) await emit(p, true)
    })
    return reply.code(200).header('content-type', 'application/json').send(out)
  }
}
