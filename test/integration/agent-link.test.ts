// The agent as one whole: `kafka-edge-agent run` with a bridge section, against
// the real broker and a real bridge. Predictions land in Kafka exactly once
// across a bridge restart; a request through the bridge is answered by the
// agent's model; a published and promoted model reaches the agent, which
// activates it and reports so.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Bridge, resolveConfig, startBridge } from '@kafka-edge/proxy-bridge'
import { freePort } from '@kafka-edge/dev-kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AgentCli, spawnAgentCli } from '../support/agent-cli.ts'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics } from '../support/bridge.ts'
import { readTopic } from '../support/kafka.ts'
import {
  cliConfigFile,
  cliFlags,
  devPublicKey,
  modelBridgeOverrides,
  modelCopy,
  modelsCli,
  modelsDir,
  publishModel,
} from '../support/models.ts'
import { eventually } from '../support/eventually.ts'

const topics = isolatedTopics()
const cliConfig = cliConfigFile(topics)
const deviceId = 'agent-link-1'
const overrides = modelBridgeOverrides()
const golden = JSON.parse(readFileSync(join(modelsDir, 'wine', 'golden.json'), 'utf8')) as {
  models: Record<string, { vectors: { input: Record<string, number> }[] }>
}
const inputs = (golden.models['model.int8.onnx']?.vectors ?? []).map((v) => v.input)
const inputAt = (n: number) => inputs[n % inputs.length] as Record<string, number>

let port: number
let bridge: Bridge | undefined
let agent: AgentCli

/** A bridge on the same port every time, so the agent finds it again after a restart. */
async function startFixedBridge(): Promise<Bridge> {
  return startBridge(resolveConfig({ ...bridgeConfig(topics, overrides), port, host: '127.0.0.1' }))
}

interface LinkStatus {
  state: string
  outbox: { depth: number; ackedSeq: number; nextSeq: number }
  deliveries: { subscribed: boolean; requests: { answered: number; failed: number } }
}

const linkStatus = async () => (await agent.api<LinkStatus>('/link')).body

async function operator(path: string, body?: unknown) {
  const token = await deviceToken('operator-console', { groups: ['operators'] })
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

beforeAll(async () => {
  port = await freePort()
  bridge = await startFixedBridge()
  await publishModel(join(modelsDir, 'wine'), cliConfig)
  agent = await spawnAgentCli({
    publicKeys: { dev: devPublicKey },
    bridge: {
      url: `http://127.0.0.1:${port}`,
      token: await deviceToken(deviceId),
      commands: { topics: [topics.commands] },
      models: { retrySeconds: 1 },
    },
  })
})

afterAll(async () => {
  const how = await agent?.stop()
  await bridge?.close()
  await dropTopics(topics)
  expect(how).toBe('0')
})

describe('kafka-edge-agent run with a bridge', () => {
  it('reports the model it runs, and puts every prediction into Kafka exactly once across a bridge restart', async () => {
    await agent.waitFor((e) => e.event === 'online')
    // On welcome the bridge names v1, which the agent already runs (bundled): it says so.
    await agent.waitFor(
      (e) => e.event === 'model-status' && e.version === 1 && e.state === 'activated' && e.sent === true,
    )

    const total = 30
    const sent: Record<string, number>[] = []
    for (let n = 0; n < total; n++) {
      if (n === 10) {
        await bridge?.close() // Mid-way: the agent keeps predicting into its outbox.
        bridge = undefined
      }
      if (n === 20) {
        // A prediction is answered before its outbox append is durable (depth counts durable
        // records only), so the last few may still be in the group being written.
        const offline = await eventually(async () => {
          const s = await linkStatus()
          return s.outbox.depth >= 10 ? s : undefined
        }, 10_000)
        expect(offline.state).not.toBe('online')
        bridge = await startFixedBridge()
      }
      const { status } = await agent.api('/predict', { input: inputAt(n) })
      expect(status).toBe(200)
      sent.push(inputAt(n))
    }
    const drained = await eventually(async () => {
      const s = await linkStatus()
      return s.state === 'online' && s.outbox.depth === 0 && s.outbox.ackedSeq >= total ? s : undefined
    }, 30_000)
    expect(drained.outbox.ackedSeq).toBe(total)

    const records = (await readTopic(topics.records, { expect: total, idleMs: 1000 })).filter(
      (m) => m.key.toString() === deviceId,
    )
    expect(records.length).toBe(total)
    const values = records.map((m) => JSON.parse(m.value.toString()) as { type: string; input: unknown })
    expect(values.every((v) => v.type === 'prediction')).toBe(true)
    expect(values.map((v) => v.input)).toEqual(sent)
    const headers = Object.fromEntries([...(records[0]?.headers ?? [])].map(([k, v]) => [k.toString(), v.toString()]))
    expect(headers).toMatchObject({ 'kafka-edge-type': 'prediction', 'kafka-edge-model': 'wine@1' })
  })

  it('answers a predict request sent through the bridge with what its local API answers', async () => {
    await eventually(async () => ((await linkStatus()).deliveries.subscribed ? true : undefined), 20_000)
    const input = inputAt(3)
    const local = await agent.api<{ outputs: unknown; model: unknown }>('/predict', { input })
    const remote = await operator(`/v1/devices/${deviceId}/requests`, {
      request: { type: 'predict', input },
      timeoutMs: 15_000,
    })
    expect(remote.status, JSON.stringify(remote.body)).toBe(200)
    expect(remote.body).toMatchObject({ deviceId, ok: true })
    const result = remote.body.result as { outputs: unknown; model: unknown }
    expect(result.outputs).toEqual(local.body.outputs)
    expect(result.model).toEqual({ name: 'wine', version: 1 })

    const unknown = await operator(`/v1/devices/${deviceId}/requests`, {
      request: { type: 'reboot' },
      timeoutMs: 15_000,
    })
    expect(unknown.status).toBe(200)
    expect(unknown.body).toMatchObject({ ok: false, error: { code: 'E_REQUEST_TYPE_UNKNOWN' } })
    const wrongModel = await operator(`/v1/devices/${deviceId}/requests`, {
      request: { type: 'predict', model: 'vibration-anomaly', input },
      timeoutMs: 15_000,
    })
    expect(wrongModel.body).toMatchObject({ ok: false, error: { code: 'E_MODEL_NOT_RUNNING' } })
  })

  it('installs a published, promoted version pushed by the bridge, and reports it activated', async () => {
    const v2 = modelCopy('wine', (m) => {
      m.version = 2
    })
    await publishModel(v2, cliConfig, ['--percent', '0'])
    const promoted = await modelsCli(['promote', 'wine', '2', '--percent', '100', ...cliFlags(cliConfig)])
    expect(promoted.code, promoted.stderr).toBe(0)

    await agent.waitFor((e) => e.event === 'activated' && e.version === 2, 30_000)
    const rollout = await eventually(async () => {
      const { body } = await operator('/v1/models/wine/rollout')
      const counts = body.counts as Record<string, { activated: number }> | undefined
      return counts?.['2']?.activated === 1 ? body : undefined
    }, 20_000)
    expect(rollout.devices).toBe(1)
    const models = await agent.api<{ current: { name: string; version: number; origin: string } }>('/models')
    expect(models.body.current).toMatchObject({ name: 'wine', version: 2, origin: 'installed' })
    const predicted = await agent.api<{ model: unknown }>('/predict', { input: inputAt(0) })
    expect(predicted.body.model).toEqual({ name: 'wine', version: 2 })
  })
})
