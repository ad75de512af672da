import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import type { FastifyInstance } from 'fastify'
import type { DeviceIdentity, TokenVerifier } from '../auth/tokens.ts'
import { BridgeError } from '../errors.ts'
import { replyError } from '../rest/error-reply.ts'
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

  app.register(async (scope) => {
    scope.setErrorHandler((error, _request, reply) =>
      replyError(reply, error, error instanceof ModelNotLoadable ? { reason: error.reason } : {}),
    )

    scope.post<{ Params: { name: string }; Querystring: { version?: string }; Body: PredictBody }>(
      '/v1/models/:name/predict',
      async (request, reply) => {
        const started = performance.now()
        const caller = await verifier.verifyAuthorization(request.headers.authorization, 'a device or operator token')

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
