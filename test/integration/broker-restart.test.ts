// The broker itself dies (kill -9) while agents drain their outboxes through
// a bridge, and comes back on the same data: every record lands exactly once,
// in per-device order, byte for byte (SPEC, guarantee 2). Each test runs its
// own broker, so the shared one other files use never goes away.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { externalBrokers, freePort, pidAlive, removeInstance, startBroker, stopBroker } from '@kafka-edge/dev-kafka'
import type { BridgeConfigInput } from '@kafka-edge/proxy-bridge'
import { afterEach, describe, expect, it } from 'vitest'
import { type AgentProcess, spawnAgent } from '../support/agent-process.ts'
import { expectExactlyOnce, expectExit } from '../support/agent-checks.ts'
import { bridgeConfig, deviceToken, isolatedTopics, metric } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { eventually } from '../support/eventually.ts'

const AGENTS = 3
const RECORDS = 3000
// Longer outages are measured by hand: BROKER_OUTAGE_MS=180000 npx vitest run test/integration/broker-restart.test.ts
const OUTAGE_MS = Number(process.env.BROKER_OUTAGE_MS ?? 10_000)

function readyzAnswers(url: string, status: number, timeoutMs: number): Promise<true> {
  const probe = async () => ((await fetch(`${url}/readyz`)).status === status ? true : undefined)
  return eventually(probe, timeoutMs, `/readyz ${status}`)
}

const acks = (agent: AgentProcess) => agent.events.filter((e) => e.event === 'ack').length

// Against KAFKA_BROKERS there is no broker of ours to kill.
describe.skipIf(externalBrokers() !== undefined)('a broker that dies mid-drain', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** Its own broker, a bridge on it, and agents draining 3,000 records each, the first 500 of one acked. */
  async function drainingStack(exactlyOnce: BridgeConfigInput['exactlyOnce'] = {}) {
    const name = `restart-${randomUUID().slice(0, 8)}`
    const port = await freePort()
    const broker = await startBroker({ name, port, fresh: true })
    cleanups.push(async () => {
      await stopBroker(name)
      removeInstance(name)
    })
    const bootstrap = [broker.bootstrap]
    const topics = isolatedTopics()
    // 500 records/s per device keeps the drain going for seconds, so the broker dies mid-drain.
    const bridge: BridgeProcess = await spawnBridge({
      ...bridgeConfig(topics, { kafka: { brokers: bootstrap } }),
      limits: { ratePerSec: 500, burst: 200, maxBatchRecords: 100 },
      exactlyOnce,
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

    return {
      bridge,
      agents,
      devices,
      topics,
      bootstrap,
      async killBroker(): Promise<void> {
        process.kill(broker.pid, 'SIGKILL')
        await eventually(async () => (pidAlive(broker.pid) ? undefined : true), 10_000, 'the broker gone')
      },
      restartBroker: () => startBroker({ name, port }),
    }
  }

  it(
    'kill -9 of the broker while agents drain, then a restart on the same data: nothing lost, nothing doubled',
    async () => {
      const { bridge, agents, devices, topics, bootstrap, killBroker, restartBroker } = await drainingStack()
      await killBroker()
      const downAt = Date.now()
      // The bridge says it is not ready, so a load balancer sends new devices elsewhere.
      await readyzAnswers(bridge.url, 503, 10_000)
      // Down for 10 s by default: far longer than a transaction takes.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - downAt))))
      const ackedWhileDown = agents.map(acks)
      await restartBroker()
      await readyzAnswers(bridge.url, 200, 30_000)

      for (const agent of agents) await expectExit(agent, 120_000)
      // The drain went on after the restart: the outage was mid-drain, not after it.
      expect(agents.some((a, i) => acks(a) > (ackedWhileDown[i] as number))).toBe(true)

      await expectExactlyOnce(topics.records, devices, RECORDS, bootstrap)
    },
    240_000 + OUTAGE_MS,
  )

  it('a broker that stays down: devices hear E_KAFKA_UNAVAILABLE after transactionTimeoutMs, keep their records, and resend them once it is back', async () => {
    // Without the lane's own bound the client's retries keep a transaction
    // waiting ~3.5 minutes, and this test times out with no agent told.
    const { bridge, agents, devices, topics, bootstrap, killBroker, restartBroker } = await drainingStack({
      transactionTimeoutMs: 5000,
    })
    await killBroker()
    for (const agent of agents) {
      await agent.waitFor((e) => e.event === 'error' && e.code === 'E_KAFKA_UNAVAILABLE', 90_000)
    }
    const ackedWhileDown = agents.map(acks)
    await restartBroker()

    for (const agent of agents) await expectExit(agent, 120_000)
    expect(agents.every((a, i) => acks(a) > (ackedWhileDown[i] as number))).toBe(true)
    expect(await metric(bridge, 'kafka_edge_transactions_aborted_total')).toBeGreaterThan(0)

    await expectExactlyOnce(topics.records, devices, RECORDS, bootstrap)
  }, 300_000)

  it('SIGTERM while the broker is down and a transaction is in flight: the bridge still exits, without waiting out the Kafka clients', async () => {
    const { bridge, killBroker } = await drainingStack()
    await killBroker()
    await readyzAnswers(bridge.url, 503, 10_000)
    expect(await bridge.kill('SIGTERM')).toBe('0')
    expect(bridge.output()).toContain('bridge stopped before its Kafka clients closed')
  }, 120_000)
})
