import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOnnxEngine } from '../../edge-agent/src/core/engines/onnx.ts'
import { LoadedModel } from '../../edge-agent/src/core/models/loaded.ts'
import { parseManifest } from '../../edge-agent/src/core/models/manifest.ts'
import type { NamedOutputs } from '../../edge-agent/src/core/models/outputs.ts'
import { nodeOnnxWasm } from '../../edge-agent/src/node/onnx-wasm.ts'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { cliConfigFile, modelBridgeOverrides, modelCopy, modelsDir, publishModel } from '../support/models.ts'
import { eventually } from '../support/eventually.ts'

// Server-side scoring (docs/models.md, "Server-side scoring") against a real
// broker and bridge: the model comes from Kafka through the CLI, as in production.
const topics = isolatedTopics()
const config = cliConfigFile(topics)
const wineDir = join(modelsDir, 'wine')
const manifest = parseManifest(readFileSync(join(wineDir, 'manifest.json'), 'utf8'))
const inputs = manifest.golden.vectors.map((v) => v.input)

let bridge: Bridge
let operator: string
let device: LoadedModel

interface Answer {
  outputs: NamedOutputs | NamedOutputs[]
  model: { name: string; version: number }
  latencyMs: number
  code?: string
  reason?: string
  message?: string
}

async function predict(
  body: unknown,
  options: { token?: string | null; path?: string } = {},
): Promise<{ status: number; body: Answer }> {
  const token = options.token === undefined ? operator : options.token
  const res = await fetch(`${bridge.url}${options.path ?? '/v1/models/wine/predict'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Answer }
}

/** Same label, probabilities within the manifest's golden tolerance. */
function expectSameOutputs(server: NamedOutputs, local: NamedOutputs): void {
  expect(server.label).toBe(local.label)
  const tolerance = manifest.golden.tolerance
  const probabilities = local.probabilities as Record<string, number>
  for (const [label, p] of Object.entries(probabilities)) {
    expect(
      Math.abs(((server.probabilities as Record<string, number>)[label] ?? Number.NaN) - p),
      label,
    ).toBeLessThanOrEqual(tolerance)
  }
}

beforeAll(async () => {
  operator = await deviceToken('ops-console', { groups: ['operators'] })
  bridge = await startTestBridge(topics, modelBridgeOverrides())
  await publishModel(wineDir, config)
  // v2: the same bytes, but golden vectors it cannot reproduce; rolled out to group "canary" only.
  const broken = modelCopy('wine', (m) => {
    m.version = 2
    m.rollout = { ...(m.rollout as object), percent: 0, groups: ['canary'] }
    const golden = m.golden as { vectors: { output: Record<string, unknown> }[] }
    ;(golden.vectors[0] as { output: Record<string, unknown> }).output.probabilities = [[0, 1, 0]]
  })
  await publishModel(broken, config)

  // The device side: the agent's own engine (onnxruntime-web) on the same file.
  const engine = await createOnnxEngine({ threads: 1, onnxWasm: nodeOnnxWasm })
  const files = new Map([[manifest.entry, new Uint8Array(readFileSync(join(wineDir, manifest.entry)))]])
  device = new LoadedModel(manifest, await engine.load(manifest, files), 'installed')

  // Until the bridge has read and verified the files from Kafka, it answers 409.
  await eventually(
    async () => {
      const { status } = await predict({ input: inputs[0] })
      return status === 200 ? true : undefined
    },
    30_000,
    'wine served for scoring',
  )
}, 90_000)

afterAll(async () => {
  device?.retire()
  await bridge?.close()
  await dropTopics(topics)
})

describe('POST /v1/models/{name}/predict', () => {
  it("predicts what the device's own runtime predicts, and the golden outputs", async () => {
    for (const [i, input] of inputs.entries()) {
      const { status, body } = await predict({ input })
      expect(status).toBe(200)
      expect(body.model).toEqual({ name: 'wine', version: 1 })
      expect(body.latencyMs).toBeGreaterThanOrEqual(0)
      const server = body.outputs as NamedOutputs
      expectSameOutputs(server, await device.predict(input))
      const golden = manifest.golden.vectors[i]?.output as { label: number[]; probabilities: number[][] }
      expect(server.label).toBe(manifest.outputs[0]?.labels?.[golden.label[0] as number])
    }
  })

  it('scores a batch, in order, as single requests would', async () => {
    const batch = [...inputs, ...inputs].reverse()
    const { status, body } = await predict({ inputs: batch })
    expect(status).toBe(200)
    const outputs = body.outputs as NamedOutputs[]
    expect(outputs).toHaveLength(batch.length)
    for (const [i, input] of batch.entries()) expectSameOutputs(outputs[i] as NamedOutputs, await device.predict(input))
  })

  it('takes a device token: the version assigned to the device, or ?version=N', async () => {
    const plain = await predict({ input: inputs[0] }, { token: await deviceToken('press-07') })
    expect(plain.status).toBe(200)
    expect(plain.body.model.version).toBe(1)
    // A canary device is assigned v2, which does not reproduce its golden vectors.
    const canary = await deviceToken('press-08', { groups: ['canary'] })
    const refused = await predict({ input: inputs[0] }, { token: canary })
    expect(refused.status).toBe(503)
    expect(refused.body).toMatchObject({ code: 'E_MODEL_NOT_LOADABLE', reason: 'E_GOLDEN_MISMATCH' })
    const pinned = await predict({ input: inputs[0] }, { token: canary, path: '/v1/models/wine/predict?version=1' })
    expect(pinned.status).toBe(200)
    expect(pinned.body.model.version).toBe(1)
  })

  it('marks a failing version failed and keeps serving the others', async () => {
    const failed = await predict({ input: inputs[0] }, { path: '/v1/models/wine/predict?version=2' })
    expect(failed.status).toBe(503)
    expect(failed.body.code).toBe('E_MODEL_NOT_LOADABLE')
    expect(failed.body.reason).toBe('E_GOLDEN_MISMATCH')
    expect(failed.body.message).toContain('wine@2')
    const stable = await predict({ input: inputs[1] })
    expect(stable.status).toBe(200)
    expect(stable.body.model.version).toBe(1)
  })

  it('answers every bad request with a code', async () => {
    const [first] = inputs as [Record<string, unknown>]
    const { proline: _dropped, ...missing } = first
    const cases: [unknown, { token?: string | null; path?: string }, number, string][] = [
      [{ input: first }, { path: '/v1/models/nope/predict' }, 404, 'E_MODEL_UNKNOWN'],
      [{ input: first }, { path: '/v1/models/wine/predict?version=9' }, 404, 'E_MODEL_UNKNOWN'],
      [{ input: first }, { path: '/v1/models/wine/predict?version=one' }, 400, 'E_BAD_REQUEST'],
      [{ input: missing }, {}, 400, 'E_FEATURE_MISSING'],
      [{ input: { ...first, acidity: 1 } }, {}, 400, 'E_FEATURE_UNKNOWN'],
      [{ input: { ...first, ash: 'high' } }, {}, 400, 'E_FEATURE_TYPE'],
      [{ input: { ...first, ash: null } }, {}, 400, 'E_INPUT_NAN'],
      [{ input: { ...first, ash: [1, 2] } }, {}, 400, 'E_FEATURE_SHAPE'],
      [{ input: [1, 2, 3] }, {}, 400, 'E_INPUT_INVALID'],
      [{ inputs: [first, missing] }, {}, 400, 'E_FEATURE_MISSING'],
      [{ inputs: [] }, {}, 400, 'E_BAD_REQUEST'],
      [{ input: first, inputs: [first] }, {}, 400, 'E_BAD_REQUEST'],
      [{ inputs: Array.from({ length: 1001 }, () => first) }, {}, 413, 'E_BATCH_TOO_LARGE'],
      [{ input: first }, { token: null }, 401, 'E_AUTH_REQUIRED'],
      [{ input: first }, { token: 'not-a-jwt' }, 401, 'E_TOKEN_INVALID'],
    ]
    for (const [body, options, status, code] of cases) {
      const answer = await predict(body, options)
      expect([answer.status, answer.body.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code])
    }
    const batch = await predict({ inputs: [first, missing] })
    expect(batch.body.message).toContain('inputs[1]')
  })
})
