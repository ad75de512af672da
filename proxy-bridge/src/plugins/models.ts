import { createReadStream } from 'node:fs'
import { clientFrameSchemaV1, ErrorCodes, type ModelStatusFrame } from '@kafka-edge/edge-agent/protocol'
import { Ajv } from 'ajv'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DeviceIdentity, TokenVerifier } from '../auth/tokens.ts'
import { BridgeError } from '../errors.ts'
import { replyError } from '../rest/error-reply.ts'
import { assignedManifest } from '../models/cohort.ts'
import type { ModelDistribution } from '../models/distribution.ts'
import { isSafeModelPath } from '../models/manifest-check.ts'
import { manifestEtag, manifestOf, manifestUrl } from '../models/model-state.ts'
import { parseRange } from '../models/range.ts'

const IMMUTABLE = 'public, max-age=31536000, immutable'
const validateStatus = new Ajv({ strict: false }).compile(clientFrameSchemaV1['model-status'])

/** `Prefer: wait=N` (RFC 7240), capped; 0 when absent. */
function preferWait(header: string | undefined, maxSec: number): number {
  const match = /(?:^|[,;\s])wait=(\d+)/i.exec(header ?? '')
  return match ? Math.min(Number(match[1]), maxSec) : 0
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

/**
 * Model endpoints (docs/models.md): list, the manifest assigned to this
 * device (ETag, If-None-Match, long poll), the files of a version (ETag,
 * Range, immutable), rollout status, and a REST twin of the model-status
 * frame. Every route takes a device token. Model bytes are only ever served
 * here, from verified files, never inside a WebSocket frame.
 */
export function modelRoutes(app: FastifyInstance, models: ModelDistribution, verifier: TokenVerifier): void {
  const { maxWaitSec } = models.config.models
  const devices = new WeakMap<FastifyRequest, DeviceIdentity>()
  const device = (request: FastifyRequest) => devices.get(request) as DeviceIdentity

  app.register(async (scope) => {
    scope.setErrorHandler((error, _request, reply) => replyError(reply, error))
    scope.addHook('onRequest', async (request) => {
      devices.set(request, await verifier.verifyAuthorization(request.headers.authorization))
    })

    scope.get('/v1/models', async (request) => {
      if (!models.ready) models.state('')
      const me = device(request)
      const list = []
      for (const state of models.registry.all()) {
        const manifest = assignedManifest(state, me, models.running)
        list.push({
          name: state.name,
          version: manifest?.version ?? null,
          etag: manifest ? manifestEtag(manifest) : null,
          manifestUrl: manifestUrl(state.name),
          stable: state.stable,
          latest: state.latest,
          rollout: state.rollout
            ? { version: state.rollout.version, percent: state.rollout.percent, state: state.rollout.state }
            : null,
        })
      }
      list.sort((a, b) => (a.name < b.name ? -1 : 1))
      return { models: list }
    })

    scope.get<{ Params: { name: string } }>('/v1/models/:name/manifest', async (request, reply) => {
      const { name } = request.params
      const me = device(request)
      const wait = preferWait(String(request.headers.prefer ?? ''), maxWaitSec)
      const deadline = Date.now() + wait * 1000
      for (;;) {
        const manifest = assignedManifest(models.state(name), me, models.running)
        if (!manifest) {
          throw new BridgeError(
            ErrorCodes.MODEL_UNKNOWN,
            `no version of model "${name}" is assigned to this device yet`,
          )
        }
        const etag = manifestEtag(manifest)
        const left = deadline - Date.now()
        if (!etagMatches(request.headers['if-none-match'], etag)) {
          return reply
            .header('etag', etag)
            .header('cache-control', 'no-cache')
            .header('x-model-version', String(manifest.version))
            .header('content-type', 'application/json')
            .send(JSON.stringify(manifest))
        }
        if (left <= 0 || request.raw.socket.destroyed) {
          if (wait > 0) reply.header('preference-applied', `wait=${wait}`)
          return reply.code(304).header('etag', etag).header('cache-control', 'no-cache').send()
        }
        await nextChange(models, name, left, reply)
      }
    })

    scope.get<{ Params: { name: string } }>('/v1/models/:name/rollout', async (request) => {
      const state = models.state(request.params.name)
      const summary = models.fleet.counts.summary(state.name)
      const rollout = state.rollout
      return {
        name: state.name,
        stable: state.stable,
        latest: state.latest,
        versions: Object.keys(state.versions).map(Number),
        rollout,
        abort: rollout
          ? (manifestOf(state, rollout.version)?.rollout?.abort ?? models.config.models.abort)
          : models.config.models.abort,
        devices: summary.devices,
        counts: summary.versions,
      }
    })

    scope.post<{ Params: { name: string } }>('/v1/models/:name/status', async (request, reply) => {
      const frame = { ...(request.body as object), type: 'model-status', name: request.params.name }
      if (!validateStatus(frame)) {
        const first = validateStatus.errors?.[0]
        throw new BridgeError(
          ErrorCodes.BAD_REQUEST,
          `status: ${first?.instancePath || '(body)'} ${first?.message ?? 'is invalid'}`,
        )
      }
      await models.status(device(request), frame as unknown as ModelStatusFrame)
      return reply.code(202).send({ accepted: true })
    })

    scope.get<{ Params: { name: string; version: string; '*': string } }>(
      '/v1/models/:name/:version/files/*',
      async (request, reply) => {
        const { name } = request.params
        const path = request.params['*']
        if (!isSafeModelPath(path)) {
          throw new BridgeError(
            ErrorCodes.PATH_INVALID,
            `"${path}" is not a model file path (no '.', '..' or empty segments)`,
          )
        }
        const version = Number(request.params.version)
        const manifest = Number.isSafeInteger(version) ? manifestOf(models.state(name), version) : undefined
        if (!manifest) {
          throw new BridgeError(
            ErrorCodes.MODEL_UNKNOWN,
            `model "${name}" has no version ${request.params.version} on this bridge`,
          )
        }
        const file = manifest.files.find((f) => f.path === path)
        if (!file) {
          throw new BridgeError(ErrorCodes.MODEL_FILE_MISSING, `${name} v${version} lists no file "${path}"`)
        }
        const status = models.cache.status(name, version, file)
        if (!status.verified) {
          throw new BridgeError(
            ErrorCodes.MODEL_FILE_UNVERIFIED,
            `${name} v${version} ${path} is not verified yet: ${status.reason}`,
            {
              retryable: true,
              retryAfterMs: 1000,
            },
          )
        }
        const etag = `"${file.sha256}"`
        reply
          .header('etag', etag)
          .header('cache-control', IMMUTABLE)
          .header('accept-ranges', 'bytes')
          .header('content-type', 'application/octet-stream')
        if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
        const ifRange = request.headers['if-range']
        const range =
          ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, status.size) : undefined
        if (range === 'unsatisfiable') {
          reply.header('content-range', `bytes */${status.size}`)
          throw new BridgeError(
            ErrorCodes.RANGE_NOT_SATISFIABLE,
            `the file has ${status.size} bytes; the range asks beyond them`,
          )
        }
        if (range) {
          reply
            .code(206)
            .header('content-range', `bytes ${range.start}-${range.end}/${status.size}`)
            .header('content-length', range.end - range.start + 1)
          return reply.send(createReadStream(status.path, { ...range, highWaterMark: 1024 * 1024 }))
        }
        reply.header('content-length', status.size)
        return reply.send(createReadStream(status.path, { highWaterMark: 1024 * 1024 }))
      },
    )
  })
}

/** Resolves when the model's state changes, the time is up, or the client went away. */
function nextChange(models: ModelDistribution, name: string, timeoutMs: number, reply: FastifyReply): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      models.registry.off('change', onChange)
      reply.raw.off('close', done)
      resolve()
    }
    const onChange = (changed: string) => {
      if (changed === name) done()
    }
    const timer = setTimeout(done, timeoutMs)
    models.registry.on('change', onChange)
    reply.raw.once('close', done)
  })
}
