// What tests of agents draining into Kafka assert (not for agent-child.ts, which runs outside vitest).
import { expect } from 'vitest'
import type { AgentProcess } from './agent-process.ts'
import { agentRecordValue } from './agent-records.ts'
import { readTopic } from './kafka.ts'

/**
 * Kafka holds exactly `records` records per device, in order, each
 * byte-identical to what its test agent appended. `brokers`: a test's own
 * broker instead of the shared one.
 */
export async function expectExactlyOnce(
  topic: string,
  devices: string[],
  records: number,
  brokers?: string[],
): Promise<void> {
  const messages = await readTopic(topic, { expect: devices.length * records, ...(brokers ? { brokers } : {}) })
  expect(messages.length).toBe(devices.length * records)
  for (const device of devices) {
    const mine = messages.filter((m) => m.key.toString() === device)
    expect(new Set(mine.map((m) => m.partition)).size).toBe(1)
    const expected = Array.from({ length: records }, (_, i) => JSON.stringify(agentRecordValue(device, i + 1)))
    const got = mine.map((m) => m.value.toString('utf8'))
    expect(got.length).toBe(records)
    // One comparison for the whole device keeps a failure message readable.
    const firstDiff = got.findIndex((v, i) => v !== expected[i])
    expect(firstDiff, `first differing record of ${device}: ${got[firstDiff]}`).toBe(-1)
  }
}

/** The agent drained its outbox and exited 0 within `timeoutMs`; its output's tail otherwise. */
export async function expectExit(agent: AgentProcess, timeoutMs = 45_000): Promise<void> {
  const result = await Promise.race([
    agent.exited,
    new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs)),
  ])
  expect(result, agent.output().slice(-3000)).toBe('0')
}
