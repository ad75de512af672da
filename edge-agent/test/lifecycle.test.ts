/**
 * The model lifecycle against a real HTTP server on 127.0.0.1: offline boot,
 * install, every refusal while the current model keeps serving, probation
 * and rollback on a real NaN-producing model, resume, shadow mode.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent, AgentEvents } from '../src/core/agent.ts'
import { parseTrustedKeys } from '../src/core/models/keys.ts'
import { createNodeAgent, type NodeAgentOptions } from '../src/node/agent.ts'
import { type ModelServer, startModelServer } from './support/model-server.ts'
import { unaryModel } from './support/onnx-builder.ts'
import {
  generateTestKey,
  publishModel,
  publishVariant,
  readCommittedManifest,
  type TestKey,
  unaryManifest,
} from './support/signing.ts'

const wineInput = readCommittedManifest('wine').golden.vectors[0]!.input

let root: string
let server: ModelServer
let key: TestKey
const agents: Agent[] = []

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agent-lifecycle-'))
  key = generateTestKey()
  mkdirSync(join(root, 'www'))
  server = await startModelServer(join(root, 'www'))
})

afterAll(async () => {
  for (const agent of agents) await agent.close()
  await server.close()
  rmSync(root, { recursive: true, force: true })
})

async function newAgent(dataDir: string, extra: Partial<NodeAgentOptions> = {}): Promise<Agent> {
  const agent = await createNodeAgent({
    dataDir: join(root, dataDir),
    publicKeys: parseTrustedKeys({ [key.keyId]: key.publicPem }),
    ...extra,
  })
  agents.push(agent)
  return agent
}

function record<K extends keyof AgentEvents>(agent: Agent, event: K): AgentEvents[K][] {
  const seen: AgentEvents[K][] = []
  agent.on(event, (e) => seen.push(e))
  return seen
}

const source = (path: string) => ({ manifestUrl: `${server.url}/${path}` })
const www = () => join(root, 'www')

describe('offline boot and install', () => {
  let agent: Agent

  it('boots the bundled wine model from an empty data directory and names its outputs', async () => {
    agent = await newAgent('a')
    const booted = record(agent, 'booted')
    await agent.start()
    expect(booted[0]).toMatchObject({ source: 'bundled', model: { name: 'wine', version: 1 } })
    const result = await agent.predict(wineInput)
    expect(result.model).toEqual({ name: 'wine', version: 1 })
    expect(result.outputs.label).toBe('class_0')
    expect(Object.keys(result.outputs.probabilities as object)).toEqual(['class_0', 'class_1', 'class_2'])
    expect(result.latencyMs).toBeGreaterThan(0)
  })

  it('installs a signed newer version: downloaded, verified, golden vectors reproduced, activated', async () => {
    const v2 = publishVariant(www(), 'wine', key, (m) => {
      m.version = 2
    })
    const activated = record(agent, 'activated')
    const progress = record(agent, 'download-progress')
    const outcome = await agent.install(source(v2.path))
    expect(outcome).toEqual({ outcome: 'activated', model: { name: 'wine', version: 2 } })
    expect(activated).toEqual([{ name: 'wine', version: 2, previous: { name: 'wine', version: 1 } }])
    expect(progress.at(-1)).toMatchObject({ received: 4595, total: 4595 })
    expect((await agent.predict(wineInput)).model.version).toBe(2)
    const state = JSON.parse(readFileSync(join(root, 'a', 'state.json'), 'utf8'))
    expect(state).toMatchObject({ current: { name: 'wine', version: 2 }, previous: null, highestSeen: { wine: 2 } })
  })

  it.each([
    [
      'a tampered file',
      'E_SHA256_MISMATCH',
      () => {
        const v = publishVariant(www(), 'wine', key, (m) => {
          m.version = 3
        })
        const bytes = new Uint8Array(readFileSync(join(v.dir, 'model.int8.onnx')))
        bytes[100] = (bytes[100] ?? 0) ^ 0xff
        server.overrides.set('wine/3/model.int8.onnx', bytes)
        return v.path
      },
    ],
    [
      'a manifest changed after signing',
      'E_SIGNATURE_INVALID',
      () => {
        const v = publishVariant(www(), 'wine', key, (m) => {
          m.version = 4
        })
        const m = JSON.parse(readFileSync(join(v.dir, 'manifest.json'), 'utf8'))
        m.golden.tolerance = 1
        writeFileSync(join(v.dir, 'manifest.json'), JSON.stringify(m))
        return v.path
      },
    ],
    [
      'an untrusted key',
      'E_SIGNATURE_INVALID',
      () =>
        publishVariant(www(), 'wine', generateTestKey('other'), (m) => {
          m.version = 5
        }).path,
    ],
    [
      'a downgrade (the committed wine@1, validly signed)',
      'E_DOWNGRADE',
      () => publishVariant(join(root, 'www'), 'wine', key).path,
    ],
    [
      'golden vectors that do not reproduce',
      'E_GOLDEN_MISMATCH',
      () =>
        publishVariant(www(), 'wine', key, (m) => {
          m.version = 6
          m.golden.vectors[1]!.output.label = [2]
        }).path,
    ],
    [
      'an expired manifest',
      'E_MODEL_EXPIRED',
      () =>
        publishVariant(www(), 'wine', key, (m) => {
          m.version = 7
          m.expiresAt = '2020-01-01T00:00:00.000Z'
        }).path,
    ],
  ])('refuses %s (%s) while the current model keeps serving', async (_what, code, publish) => {
    const rejected = record(agent, 'rejected')
    const outcome = await agent.install(source(publish()))
    expect(outcome).toMatchObject({ outcome: 'rejected', code })
    expect(rejected[0]?.code).toBe(code)
    expect(rejected[0]?.message.length).toBeGreaterThan(20)
    expect((await agent.predict(wineInput)).model).toEqual({ name: 'wine', version: 2 })
  })

  it('refuses a version lower than the highest ever seen, across a restart', async () => {
    await agent.close()
    const again = await newAgent('a')
    const booted = record(again, 'booted')
    await again.start()
    expect(booted[0]).toMatchObject({ source: 'current', model: { name: 'wine', version: 2 } })
    // wine@6 passed every check up to its golden vectors, so 6 is the highest version seen.
    const v = publishVariant(www(), 'wine', key, (m) => {
      m.version = 5
    })
    expect(await again.install(source(v.path))).toMatchObject({ code: 'E_DOWNGRADE' })
    agent = again
  })

  it('serves concurrent predictions across a swap, none interrupted', async () => {
    const v8 = publishVariant(www(), 'wine', key, (m) => {
      m.version = 8
    })
    // Four callers keep predicting, one after another, for as long as the
    // install runs (download, verification, golden vectors, swap) and a little after.
    let installing = true
    const install = agent.install(source(v8.path)).finally(() => {
      installing = false
    })
    const caller = async () => {
      const seen: Awaited<ReturnType<typeof agent.predict>>[] = []
      let after = 0
      while (installing || after++ < 5) {
        seen.push(await agent.predict(wineInput))
        // Predictions resolve in microtasks; let the install's I/O run between them.
        await new Promise((resolve) => setImmediate(resolve))
      }
      return seen
    }
    const results = (await Promise.all([caller(), caller(), caller(), caller()])).flat()
    expect(await install).toMatchObject({ outcome: 'activated' })
    for (const r of results) expect(r.outputs.label).toBe('class_0')
    // Served by the old model while the swap was on its way, by the new one after: never a failure in between.
    expect(new Set(results.map((r) => r.model.version))).toEqual(new Set([2, 8]))
  })

  it('resumes an interrupted download with a Range request', async () => {
    const v9 = publishVariant(www(), 'wine', key, (m) => {
      m.version = 9
    })
    const dl = join(root, 'a', 'downloads', 'wine', '9')
    mkdirSync(dl, { recursive: true })
    const bytes = readFileSync(join(v9.dir, 'model.int8.onnx'))
    writeFileSync(join(dl, 'model.int8.onnx'), bytes.subarray(0, 1000))
    writeFileSync(join(dl, 'manifest.json'), JSON.stringify(v9.manifest))
    writeFileSync(join(dl, 'source.json'), JSON.stringify(source(v9.path)))
    server.requests.length = 0
    expect(await agent.resumeDownloads()).toEqual([{ outcome: 'activated', model: { name: 'wine', version: 9 } }])
    expect(server.requests).toContainEqual({ path: 'wine/9/model.int8.onnx', range: 'bytes=1000-' })
  })

  it('reports an unreachable server as a retryable download failure', async () => {
    const failed = record(agent, 'download-failed')
    const outcome = await agent.install({ manifestUrl: 'http://127.0.0.1:9/wine/manifest.json' })
    expect(outcome).toMatchObject({ outcome: 'download-failed', code: 'E_DOWNLOAD' })
    expect(failed).toHaveLength(1)
  })
})

describe('probation', () => {
  it('rolls back a model that starts returning NaN, and serves the answer from the previous model', async () => {
    const agent = await newAgent('p')
    await agent.start()
    const abs = publishModel(www(), unaryManifest('root', 1, [[4, 4]]), { 'model.onnx': unaryModel('Abs') }, key)
    const sqrt = publishModel(
      www(),
      unaryManifest('root', 2, [
        [4, 2],
        [9, 3],
      ]),
      { 'model.onnx': unaryModel('Sqrt') },
      key,
    )
    expect(await agent.install(source(abs.path))).toMatchObject({ outcome: 'activated' })
    expect(await agent.install(source(sqrt.path))).toMatchObject({ outcome: 'activated' })
    const rolledBack = record(agent, 'rolled-back')
    expect((await agent.predict({ x: 16 })).outputs.y).toBe(4)
    const answer = await agent.predict({ x: -1 })
    expect(answer).toMatchObject({ model: { name: 'root', version: 1 }, outputs: { y: 1 } })
    expect(rolledBack).toEqual([
      expect.objectContaining({
        name: 'root',
        version: 2,
        code: 'E_PROBATION_FAILED',
        to: { name: 'root', version: 1 },
      }),
    ])
    expect(rolledBack[0]?.message).toContain('E_OUTPUT_NONFINITE')
    const state = JSON.parse(readFileSync(join(root, 'p', 'state.json'), 'utf8'))
    expect(state).toMatchObject({ current: { name: 'root', version: 1 }, refused: ['root@2'] })
    expect(await agent.install(source(sqrt.path))).toMatchObject({ code: 'E_VERSION_REFUSED' })
  })

  it('passes after N good predictions; a later NaN is an error, not a rollback', async () => {
    const agent = await newAgent('q')
    await agent.start()
    const abs = publishModel(www(), unaryManifest('q', 1, [[4, 4]]), { 'model.onnx': unaryModel('Abs') }, key)
    const sqrt = publishModel(www(), unaryManifest('q', 2, [[4, 2]]), { 'model.onnx': unaryModel('Sqrt') }, key)
    await agent.install(source(abs.path))
    await agent.install(source(sqrt.path))
    const passed = record(agent, 'probation-passed')
    for (let i = 0; i < 5; i++) await agent.predict({ x: i })
    for (let i = 0; i < 200 && passed.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(passed).toEqual([{ name: 'q', version: 2, predictions: 5 }])
    await expect(agent.predict({ x: -1 })).rejects.toMatchObject({ code: 'E_OUTPUT_NONFINITE' })
    expect((await agent.predict({ x: 4 })).model.version).toBe(2)
  })
})

describe('probation of the first installed model', () => {
  it('rolls back to the bundled model', async () => {
    const agent = await newAgent('pb')
    await agent.start()
    const sqrt = publishModel(www(), unaryManifest('first', 1, [[4, 2]]), { 'model.onnx': unaryModel('Sqrt') }, key)
    expect(await agent.install(source(sqrt.path))).toMatchObject({ outcome: 'activated' })
    const rolledBack = record(agent, 'rolled-back')
    // The bundled wine model cannot read {x}: the caller gets its input error, the bad model is gone.
    await expect(agent.predict({ x: -1 })).rejects.toMatchObject({ code: 'E_FEATURE_UNKNOWN' })
    expect(rolledBack[0]).toMatchObject({ name: 'first', version: 1, to: { name: 'wine', version: 1 } })
    expect((await agent.predict(wineInput)).model).toEqual({ name: 'wine', version: 1 })
    const state = JSON.parse(readFileSync(join(root, 'pb', 'state.json'), 'utf8'))
    expect(state).toMatchObject({ current: null, refused: ['first@1'] })
  })
})

describe('shadow mode', () => {
  it('scores sampled live inputs beside the current model, reports agreement, then promotes', async () => {
    const agent = await newAgent('s', {
      shadow: { sampleRate: 1, samples: 20, minAgreement: 0.9, tolerance: 0.01 },
    })
    await agent.start()
    const v = publishVariant(www(), 'wine', key, (m) => {
      m.version = 20
    })
    const reports = record(agent, 'shadow')
    const activated = record(agent, 'activated')
    expect(await agent.install(source(v.path), { shadow: true })).toMatchObject({ outcome: 'shadow' })
    for (let i = 0; i < 20; i++) expect((await agent.predict(wineInput)).model.version).toBe(1)
    // The shadow scores run beside the served answers; wait for the verdict.
    for (let i = 0; i < 200 && activated.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(reports.at(-1)).toMatchObject({ name: 'wine', version: 20, compared: 20, agreed: 20, agreementRate: 1 })
    expect(activated).toHaveLength(1)
    expect((await agent.predict(wineInput)).model.version).toBe(20)
  })
})

describe('offline boot fallbacks', () => {
  it('falls back from a corrupt current to the previous, then to the bundled model', async () => {
    const agent = await newAgent('f')
    await agent.start()
    const v1 = publishModel(www(), unaryManifest('f', 1, [[4, 4]]), { 'model.onnx': unaryModel('Abs') }, key)
    const v2 = publishModel(www(), unaryManifest('f', 2, [[4, 4]]), { 'model.onnx': unaryModel('Abs') }, key)
    await agent.install(source(v1.path))
    await agent.install(source(v2.path))
    await agent.close()
    writeFileSync(join(root, 'f', 'models', 'f', '2', 'model.onnx'), 'garbage')

    const second = await newAgent('f')
    const booted = record(second, 'booted')
    await second.start()
    expect(booted[0]).toMatchObject({ source: 'previous', model: { name: 'f', version: 1 } })
    expect(booted[0]?.fallbacks[0]).toMatchObject({ name: 'f', version: 2, code: 'E_SIZE_MISMATCH' })
    await second.close()

    rmSync(join(root, 'f', 'models'), { recursive: true })
    const third = await newAgent('f')
    const booted3 = record(third, 'booted')
    await third.start()
    expect(booted3[0]).toMatchObject({ source: 'bundled', model: { name: 'wine', version: 1 } })
    expect((await third.predict(wineInput)).outputs.label).toBe('class_0')
  })

  it('without any model, predict says E_NO_MODEL', async () => {
    const agent = await newAgent('empty', { bundled: false })
    await agent.start()
    await expect(agent.predict(wineInput)).rejects.toMatchObject({ code: 'E_NO_MODEL' })
  })
})
