// Agents as child processes, each with its own Node outbox, drain into a real
// bridge and a real broker: exactly once, in per-device order, byte-identical,
// across a bridge that starts late, torn connections and a kill -9 of an agent.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@kafka-edge/dev-kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { type AgentProcess, spawnAgent } from '../support/agent-process.ts'
import { expectExactlyOnce, expectExit } from '../support/agent-checks.ts'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { startChaosProxy } from '../support/chaos-proxy.ts'

const AGENTS = 5
const RECORDS = 2000

describe('agents drain their outboxes into Kafka exactly once', () => {
  const cleanups: (() => unknown)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  function outboxDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-edge-outbox-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }

  it('5 agents append 2,000 records each while the bridge is down; the bridge starts; Kafka holds exactly 10,000', async () => {
    const topics = isolatedTopics()
    cleanups.push(() => dropTopics(topics))
    const port = await freePort()
    const devices = Array.from({ length: AGENTS }, (_, i) => `agent-late-${i}`)
    const agents = await Promise.all(
      devices.map(async (device) =>
        spawnAgent({
          dir: outboxDir(),
          url: `http://127.0.0.1:${port}`,
          device,
          token: await deviceToken(device),
          count: RECORDS,
        }),
      ),
    )
    cleanups.push(() => Promise.all(agents.map((a) => a.kill())))
    // Every agent has its records on disk and has already failed to connect.
    await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'offline')))
    expect(agents.every((a) => a.events.some((e) => e.event === 'appended' && e.depth === RECORDS))).toBe(true)

    const bridge = await spawnBridge({ ...bridgeConfig(topics), port })
    cleanups.push(() => bridge.kill('SIGTERM'))
    await Promise.all(agents.map((a) => expectExit(a)))
    await expectExactlyOnce(topics.records, devices, RECORDS)
  })

  it('torn connections every 0.5-3 s and a kill -9 of one agent mid-drain: nothing lost, nothing doubled', async () => {
    const topics = isolatedTopics()
    cleanups.push(() => dropTopics(topics))
    // A slow bridge (500 records/s per device, frames of 100) keeps the drain long enough for chaos.
    let bridge: BridgeProcess | undefined
    const proxy = await startChaosProxy(() => (bridge ? Number(new URL(bridge.url).port) : undefined))
    cleanups.push(() => proxy.close())
    const url = `http://127.0.0.1:${proxy.port}`
    const devices = Array.from({ length: AGENTS }, (_, i) => `agent-chaos-${i}`)
    const dirs = devices.map(() => outboxDir())
    const tokens = await Promise.all(devices.map((d) => deviceToken(d)))
    const agents = devices.map((device, i) =>
      spawnAgent({ dir: dirs[i] as string, url, device, token: tokens[i] as string, count: RECORDS }),
    )
    cleanups.push(() => Promise.all(agents.map((a) => a.kill())))
    await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'appended')))

    bridge = await spawnBridge({
      ...bridgeConfig(topics),
      limits: { ratePerSec: 500, burst: 200, maxBatchRecords: 100 },
    })
    cleanups.push(() => bridge?.kill('SIGTERM'))
    proxy.startCutting(500, 3000)

    // kill -9 one agent once it is mid-drain, and start it again on the same outbox.
    const victim = 2
    await (agents[victim] as AgentProcess).waitFor((e) => e.event === 'ack' && Number(e.watermark) >= 200)
    expect(await (agents[victim] as AgentProcess).kill('SIGKILL')).toBe('SIGKILL')
    // The random cuts may all fall after a fast drain; one cut mid-drain is certain.
    await (agents[0] as AgentProcess).waitFor((e) => e.event === 'ack' && Number(e.watermark) >= 400)
    // A random cut may have just torn everything: cut once the agents are back.
    let torn = 0
    for (let tries = 0; torn === 0 && tries < 400; tries++) {
      torn = proxy.cutNow()
      if (torn === 0) await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(torn).toBeGreaterThan(0)
    agents[victim] = spawnAgent({
      dir: dirs[victim] as string,
      url,
      device: devices[victim] as string,
      token: tokens[victim] as string,
      count: RECORDS,
    })

    if (process.env.AGENT_DEBUG) {
      const t = setInterval(() => {
        for (const [i, a] of agents.entries())
          console.log(i, JSON.stringify(a.events.slice(-4)), a.output().slice(-300))
      }, 5000)
      cleanups.push(() => clearInterval(t))
    }
    await Promise.all(agents.map((a) => expectExit(a)))
    proxy.stopCutting()
    await expectExactlyOnce(topics.records, devices, RECORDS)
  })
})
