import { join } from 'node:path'
import type { ModelFrame, PongFrame } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { DeviceClient } from '../support/device-client.ts'
import {
  cliConfigFile,
  cliFlags,
  modelBridgeOverrides,
  modelCopy,
  modelsCli,
  modelsDir,
  publishModel,
} from '../support/models.ts'
import { eventually } from '../support/eventually.ts'

const topics = isolatedTopics()
const config = cliConfigFile(topics)
let bridge: Bridge
const clients: DeviceClient[] = []

const isModel =
  (version: number) =>
  (f: { type: string }): f is ModelFrame =>
    f.type === 'model' && (f as ModelFrame).version === version

async function connect(deviceId: string, groups: string[] = []): Promise<DeviceClient> {
  const client = await DeviceClient.connect(bridge.url, { token: await deviceToken(deviceId, { groups }) })
  clients.push(client)
  await client.hello()
  return client
}

/** Every frame the bridge sent `client` before this call has arrived: its pong comes after them. */
async function caughtUp(client: DeviceClient): Promise<void> {
  const t = Date.now()
  client.send({ type: 'ping', t })
  await client.waitFor((f): f is PongFrame => f.type === 'pong' && f.t === t)
}

async function api(path: string, headers: Record<string, string> = {}) {
  const token = await deviceToken('operator-console')
  return fetch(`${bridge.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } })
}

beforeAll(async () => {
  bridge = await startTestBridge(topics, modelBridgeOverrides())
  await publishModel(join(modelsDir, 'wine'), config)
  await eventually(async () => ((await api('/v1/models/wine/manifest')).status === 200 ? true : undefined))
})

afterAll(async () => {
  for (const c of clients) c.close()
  await bridge.close()
  await dropTopics(topics)
})

describe('staged rollout', () => {
  it('pushes a model frame to devices in the cohort, and answers a long poll as soon as the version changes', async () => {
    const canary = await connect('press-canary', ['canary'])
    const other = await connect('press-other')
    // On welcome each device learns what it should run: stable v1.
    const first = await canary.waitFor(isModel(1))
    expect(first).toMatchObject({ name: 'wine', manifestUrl: '/v1/models/wine/manifest' })
    await other.waitFor(isModel(1))

    const token = await deviceToken('press-canary', { groups: ['canary'] })
    const poll = fetch(`${bridge.url}/v1/models/wine/manifest`, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': first.etag, prefer: 'wait=30' },
    })

    const v2 = modelCopy('wine', (m) => {
      m.version = 2
    })
    await publishModel(v2, config, ['--percent', '0', '--groups', 'canary'])

    const pushed = await canary.waitFor(isModel(2))
    expect(pushed.etag).toMatch(/^"wine-2-/)
    const answered = await poll
    expect(answered.status).toBe(200)
    expect(((await answered.json()) as { version: number }).version).toBe(2)
    expect(answered.headers.get('etag')).toBe(pushed.etag)

    // Outside the cohort (0 % and not in the group): still v1, no new frame. The
    // push that reached the canary went to every session at once.
    await caughtUp(other)
    expect(other.frames.some(isModel(2))).toBe(false)
  })

  it('pauses itself when failures pass the abort criteria, and says why', async () => {
    const canary = clients[0] as DeviceClient
    const from = canary.frames.length
    const bad = await connect('press-x')
    await bad.sendExpectingError(
      { type: 'model-status', name: 'nope', version: 1, state: 'activated' },
      'E_MODEL_UNKNOWN',
    )

    // wine's abort criteria: more than 20 % of at least 10 devices.
    for (let i = 0; i < 10; i++) {
      const device = await connect(`press-${i}`)
      const failed = i < 3
      device.send({
        type: 'model-status',
        name: 'wine',
        version: 2,
        state: failed ? 'rejected' : 'activated',
        ...(failed ? { reason: 'golden vector 2: probabilities off by 0.31' } : {}),
        running: { wine: failed ? 1 : 2 },
      })
    }
    const rollout = await eventually(async () => {
      const body = (await (await api('/v1/models/wine/rollout')).json()) as {
        rollout: { state: string; reason?: string }
        counts: Record<string, Record<string, number>>
      }
      return body.rollout.state === 'paused' ? body : undefined
    })
    expect(rollout.rollout.reason).toContain('3 of 10 devices')
    expect(rollout.counts['2']).toEqual({ activated: 7, rejected: 3, 'rolled-back': 0 })

    // The canary never reported running v2: paused means it goes back to stable.
    await canary.waitFor(isModel(1), 20_000, from)

    const status = await modelsCli(['status', 'wine', ...cliFlags(config)])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain('PAUSED')
    expect(status.stdout).toContain('3 of 10 devices')
  })

  it('promotes, pauses and aborts from the CLI, with exit codes scripts can rely on', async () => {
    const canary = clients[0] as DeviceClient
    const from = canary.frames.length
    const promoted = await modelsCli(['promote', 'wine', '2', '--percent', '50', ...cliFlags(config)])
    expect(promoted.code, promoted.stderr).toBe(0)
    let status = await modelsCli(['status', 'wine', ...cliFlags(config)])
    expect(status.stdout).toMatch(/v2 50 % .*ROLLING/)
    const canaryToken = await deviceToken('press-canary', { groups: ['canary'] })
    const assigned = async () =>
      (
        (await (
          await fetch(`${bridge.url}/v1/models/wine/manifest`, { headers: { authorization: `Bearer ${canaryToken}` } })
        ).json()) as { version: number }
      ).version
    expect(await assigned()).toBe(2)

    const paused = await modelsCli(['pause', 'wine', '--reason', 'line 3 maintenance', ...cliFlags(config)])
    expect(paused.code, paused.stderr).toBe(0)
    status = await modelsCli(['status', 'wine', ...cliFlags(config)])
    expect(status.stdout).toContain('PAUSED — line 3 maintenance')

    const aborted = await modelsCli(['abort', 'wine', '--reason', 'bad batch', ...cliFlags(config)])
    expect(aborted.code, aborted.stderr).toBe(0)
    status = await modelsCli(['status', 'wine', ...cliFlags(config)])
    expect(status.stdout).toContain('ABORTED')
    // Aborted: every device is sent back to stable, once the bridge has read the abort.
    await eventually(async () => {
      const body = (await (await api('/v1/models/wine/rollout')).json()) as { rollout: { state: string } }
      return body.rollout.state === 'aborted' ? true : undefined
    })
    // A canary device, which ran v2 before, is assigned v1 again: asked over REST, and on a new connection.
    expect(await assigned()).toBe(1)
    const fresh = await connect('press-canary-2', ['canary'])
    const welcomeModel = await fresh.waitFor((f): f is ModelFrame => f.type === 'model')
    expect(welcomeModel.version).toBe(1)
    // The connected canary was pushed v2 on the promotion, and v1 after it (on the pause or the abort).
    await caughtUp(canary)
    const pushed = canary.frames.slice(from).flatMap((f) => (f.type === 'model' ? [f.version] : []))
    expect(pushed).toContain(2)
    expect(pushed.at(-1)).toBe(1)

    const again = await modelsCli(['abort', 'wine', ...cliFlags(config)])
    expect(again.code).not.toBe(0)
    const unknown = await modelsCli(['pause', 'no-such-model', ...cliFlags(config)])
    expect(unknown.code).toBe(4)
    const usage = await modelsCli(['promote', 'wine', ...cliFlags(config)])
    expect(usage.code).toBe(2)
    const listed = await modelsCli(['list', '--json', ...cliFlags(config)])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain('wine')
  })
})
