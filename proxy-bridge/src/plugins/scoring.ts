import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { bearerToken, type DeviceIdentity, type TokenVerifier } from '../auth/tokens.ts'
import { BridgeError, httpStatusOf } from '../errors.ts'
import { assignedManifest } from '../models/cohort.ts'
import type { ModelDistribution } from '../models/distribution.ts'
import { manifestOf } from '../models/model-state.ts'
import { createNativeOnnxEngine } from '../scoring/native-engine.ts'
import { ModelNotLoadable, ScoringModels } from '../scoring/scoring-models.ts'
import { OPERATORS_GROUP } from '../auth/topic-acl.ts'

/** Inputs per batch request. */
export const MAX_BATCH_INPUTS = 1000
/** A version that failed is tried again after this long. */
const RETRY_FAILED_MS = 60_000

interface PredictBody {
  input?: unknown
  inputs?: unknown
}

/** Fastify's own errors (body parsing, media type, size) as our codes. */
function fromFastify(error: FastifyError): BridgeError {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new BridgeError(ErrorCodes.BODY_TOO_LARGE, error.message)
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new BridgeError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json')
  if (error.statusCode !== undefined && error.statusCode < 500)
    return new BridgeError(ErrorCodes.BAD_REQUEST, error.message)
  return new BridgeError(ErrorCodes.INTERNAL, 'the bridge failed; it has been logged')
}

/**
 * Which version scores (docs/models.md, "Server-side scoring"): `?version=N`
 * when given; else, for a device token, the version assigned to that device
 * (its rollout cohort), so its server-side predictions match what it would
 * run itself; else (operator token) the stable version.
 */
function chosenManifest(
  models: ModelDistribution,
  name: string,
  caller: DeviceIdentity,
  version: string | undefined,
): SignedModelManifest {
  const state = models.state(name)
  if (version !== undefined) {
    const n = Number(version)
    if (!/^[1-9][0-9]{0,15}$/.test(version)) {
      throw new BridgeError(ErrorCodes.BAD_REQUEST, `version "${version}" is not a positive integer`)
    }
    const manifest = manifestOf(state, n)
    if (!manifest) throw new BridgeError(ErrorCodes.MODEL_UNKNOWN, `model "${name}" has no version ${n} on this bridge`)
    return manifest
  }
  const manifest = caller.groups.includes(OPERATORS_GROUP)
    ? manifestOf(state, state.stable)
    : assignedManifest(state, caller, models.running)
  if (!manifest) {
    throw new BridgeError(
      ErrorCodes.MODEL_UNKNOWN,
      `model "${name}" has no ${caller.groups.includes(OPERATORS_GROUP) ? 'stable version' : 'version assigned to this device'} yet; ask for one with ?version=N`,
    )
  }
  return manifest
}

/**
 * POST /v1/models/{name}/predict: the model-server pattern for devices too
 * small to run a model. Runs the version the device would run, natively
 * (onnxruntime-node), loaded once per version and shared by all requests.
 */
export function scoringRoutes(app: FastifyInstance, models: ModelDistribution, verifier: TokenVerifier): void {
  const scoring = new ScoringModels({
    models,
    engine: (() => {
      let engine: ReturnType<typeof createNativeOnnxEngine> | undefined
      return () => {
        engine ??= createNativeOnnxEngine({ intraOpThreads: 1 })
        engine.catch(() => {
          engine = undefined
        })
        return engine
      }
    })(),
    retryFailedMs: RETRY_FAILED_MS,
    log: app.log,
  })
  app.addHook('onClose', () => scoring.close())

  function fail(reply: FastifyReply, error: unknown): FastifyReply {
    let bridgeError: BridgeError
    if (error instanceof BridgeError) bridgeError = error
    else if ((error as FastifyError).code?.startsWith('FST_')) bridgeError = fromFastify(error as FastifyError)
    else bridgeError = new BridgeError(ErrorCodes.INTERNAL, 'the bridge failed; it has been logged')
    if (bridgeError.code === ErrorCodes.INTERNAL) reply.log.error({ err: error }, 'scoring route failed')
    const status = httpStatusOf[bridgeError.code]
    if (status === 401) reply.header('www-authenticate', 'Bearer')
    if (bridgeError.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(bridgeError.retryAfterMs / 1000))
    return reply.code(status).send({
      error_code: status,
      code: bridgeError.code,
      message: bridgeError.message,
      ...(bridgeError instanceof ModelNotLoadable ? { reason: bridgeError.reason } : {}),
    })
  }

  app.register(async (scope) => {
    scope.setErrorHandler((error, _request, reply) => fail(reply, error))

    scope.post<{ Params: { name: string }; Querystring: { version?: string }; Body: PredictBody }>(
      '/v1/models/:name/predict',
      async (request, reply) => {
        const started = performance.now()
        const authorization = request.headers.authorization
        if (authorization === undefined) {
          throw new BridgeError(
            ErrorCodes.AUTH_REQUIRED,
            'send a device or operator token: Authorization: Bearer <jwt>',
          )
        }
        const token = bearerToken(authorization)
        if (!token) throw new BridgeError(ErrorCodes.TOKEN_INVALID, 'the Authorization header must be "Bearer <jwt>"')
        const caller = await verifier.verify(token)

        const body = request.body
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new BridgeError(ErrorCodes.BAD_REQUEST, 'the body must be {"input": {...}} or {"inputs": [{...}, ...]}')
        }
        const batch = Object.hasOwn(body, 'inputs')
        if (batch === Object.hasOwn(body, 'input') || Object.keys(body).length !== 1) {
          throw new BridgeError(ErrorCodes.BAD_REQUEST, 'the body must hold exactly one of "input" or "inputs"')
        }
        const inputs = batch ? body.inputs : [body.input]
        if (!Array.isArray(inputs) || inputs.length === 0) {
          throw new BridgeError(ErrorCodes.BAD_REQUEST, '"inputs" must be a non-empty array of feature objects')
        }
        if (inputs.length > MAX_BATCH_INPUTS) {
          throw new BridgeError(
            ErrorCodes.BATCH_TOO_LARGE,
            `${inputs.length} inputs; at most ${MAX_BATCH_INPUTS} per request`,
          )
        }

        const manifest = chosenManifest(models, request.params.name, caller, request.query.version)
        const outputs = await scoring.predict(manifest, inputs, (i) => (batch ? `inputs[${i}]` : 'input'))
        return reply.send({
          outputs: batch ? outputs : outputs[0],
          model: { name: manifest.name, version: manifest.version },
          latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
        })
      },
    )
  })
}
