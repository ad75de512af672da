// The broker itself dies (kill -9) while agents drain their outboxes through
// a bridge, and comes back on the same data: every record lands exactly once,
// in per-device order, byte for byte (SPEC, guarantee 2). The test runs its
// own broker, so the shared one other files use never goes away.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { externalBrokers, freePort, pidAlive, removeInstance, startBroker, stopBroker } from '@kafka-edge/dev-kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { type AgentProcess, spawnAgent } from '../support/agent-process.ts'
import { expectExactlyOnce, expectExit } from '../support/agent-checks.ts'
import { bridgeConfig, deviceToken, isolatedTopics } from '../support/bridge.ts'
import { spawnBridge } from '../support/bridge-process.ts'
import { eventually } from '../support/eventually.ts'

const AGENTS = 3
const RECORDS = 3000

function readyzAnswers(url: string, status: number, timeoutMs: number): Promise<true> {
  const probe = async () => ((await fetch(`${url}/readyz`)).status === status ? true : undefined)
  return eventually(probe, timeoutMs, `/readyz ${status}`)
}

// Against KAFKA_BROKERS there is no broker of ours to kill.
describe.skipIf(externalBrokers() !== undefined)('a broker that dies mid-drain', () => {
  const cleanups: (() => unknown)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  it('kill -9 of the broker while agents drain, then a restart on the same data: nothing lost, nothing doubled', async () => {
    const name = `restart-${randomUUID().slice(0, 8)}`
    const port = await freePort()
    let broker = await startBroker({ name, port, fresh: true })
    cleanups.push(async () => {
      await stopBroker(name)
      removeInstance(name)
    })
    const bootstrap = [broker.bootstrap]
    const topics = isolatedTopics()
    // 500 records/s per device keeps the drain going for seconds, so the broker dies mid-drain.
    const bridge = await spawnBridge({
      ...bridgeConfig(topics, { kafka: { brokers: bootstrap } }),
      limits: { ratePerSec: 500, burst: 200, maxBatchRecords: 100 },
    })
    cleanups.push(() => bridge.kill('SIGTERM'))

    const devices = Array.from({ length: AGENTS }, (_, i) => `agent-restart-${i}`)
    const agents: AgentProcess[] = []
    for (const device of devices) {
      const dir = mkdtempSync(join(tmpdir(), 'kafka-edge-outbox-'))
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
      agents.push(spawnAgent({ dir, url: bridge.url, device, token: await deviceToken(device), count: RECORDS }))
    }
    cleanups.push(() => Promise.all(agents.map((a) => a.kill())))

    await (agents[0] as AgentProcess).waitFor((e) => e.event === 'ack' && Number(e.watermark) >= 500, 60_000)
    process.kill(broker.pid, 'SIGKILL')
    const killed = broker.pid
    await eventually(async () => (pidAlive(killed) ? undefined : true), 10_000, 'the broker gone')
    const downAt = Date.now()
    // The bridge says it is not ready, so a load balancer sends new devices elsewhere.
    await readyzAnswers(bridge.url, 503, 10_000)
    // Down for 10 s: far longer than a transaction takes.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - downAt))))
    const ackedWhileDown = agents.map((a) => a.events.filter((e) => e.event === 'ack').length)
    broker = await startBroker({ name, port })
    await readyzAnswers(bridge.url, 200, 30_000)

    for (const agent of agents) await expectExit(agent, 120_000)
    // The drain went on after the restart: the outage was mid-drain, not after it.
    expect(
      agents.some((a, i) => a.events.filter((e) => e.event === 'ack').length > (ackedWhileDown[i] as number)),
    ).toBe(true)

    await expectExactlyOnce(topics.records, devices, RECORDS, bootstrap)
  }, 240_000)
})
