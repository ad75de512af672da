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
import { agentRecordValue } from '../support/agent-records.ts'
import { bridgeConfig, deviceToken, isolatedTopics } from '../support/bridge.ts'
import { spawnBridge } from '../support/bridge-process.ts'
import { readTopic } from '../support/kafka.ts'

const AGENTS = 3
const RECORDS = 3000

/** Polls `url` until it answers `status`; the last status seen when time runs out. */
async function statusWithin(url: string, status: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = 0
  while (Date.now() < deadline) {
    last = (await fetch(url)).status
    if (last === status) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return last
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
    while (pidAlive(broker.pid)) await new Promise((resolve) => setTimeout(resolve, 50))
    const downAt = Date.now()
    // The bridge says it is not ready, so a load balancer sends new devices elsewhere.
    expect(await statusWithin(`${bridge.url}/readyz`, 503, 10_000)).toBe(503)
    // Down for 10 s: far longer than a transaction takes.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - downAt))))
    const ackedWhileDown = agents.map((a) => a.events.filter((e) => e.event === 'ack').length)
    broker = await startBroker({ name, port })
    expect(await statusWithin(`${bridge.url}/readyz`, 200, 30_000)).toBe(200)

    for (const agent of agents) {
      const result = await Promise.race([
        agent.exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 120_000)),
      ])
      expect(result, agent.output().slice(-3000)).toBe('0')
    }
    // The drain went on after the restart: the outage was mid-drain, not after it.
    expect(
      agents.some((a, i) => a.events.filter((e) => e.event === 'ack').length > (ackedWhileDown[i] as number)),
    ).toBe(true)

    const messages = await readTopic(topics.records, { expect: AGENTS * RECORDS, brokers: bootstrap })
    expect(messages.length).toBe(AGENTS * RECORDS)
    for (const device of devices) {
      const mine = messages.filter((m) => m.key.toString() === device)
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1)
      const expected = Array.from({ length: RECORDS }, (_, i) => JSON.stringify(agentRecordValue(device, i + 1)))
      const got = mine.map((m) => m.value.toString('utf8'))
      const firstDiff = got.findIndex((v, i) => v !== expected[i])
      expect(got.length).toBe(RECORDS)
      expect(firstDiff, `first differing record of ${device}: ${got[firstDiff]}`).toBe(-1)
    }
  }, 240_000)
})
