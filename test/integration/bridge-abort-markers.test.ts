/**
 * The bridge as operators run it, built into one file and from its sources
 * (bin/), reading a device-state log with an abort marker whose transaction
 * wrote nothing in that partition. The Kafka client's read_committed filter
 * threw on it from a socket callback, which ended the process; the fix is an
 * edit applied at build time and by bin/'s module hook
 * (proxy-bridge/scripts/abort-marker-guard.ts), which this test covers.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeEmptyAbortLog } from '../support/abort-marker-log.ts'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { DeviceClient, jsonRecords } from '../support/device-client.ts'
import { createTopics } from '../support/kafka.ts'

/** Resolves once /readyz says ready (the state view has read its topic); throws if the process exits first. */
async function ready(bridge: BridgeProcess, timeoutMs = 60_000): Promise<void> {
  let exited: string | undefined
  void bridge.exited.then((how) => {
    exited = how
  })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`bridge exited (${exited}) before it was ready`)
    const status = await fetch(`${bridge.url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`bridge not ready within ${timeoutMs} ms`)
}

describe.each([
  { how: 'built into one file', built: true },
  { how: 'from its sources (bin/)', built: false },
])('the bridge as a child process, $how, and an empty abort in its state topic', ({ built }) => {
  const topics = isolatedTopics()
  let bridge: BridgeProcess | undefined

  beforeAll(async () => {
    // Created before the bridge, which keeps it: small records only, so Kafka refuses the 5,000-byte one.
    await createTopics([
      { name: topics.deviceState, partitions: 3, compact: true, configs: { 'max.message.bytes': '2000' } },
    ])
    await writeEmptyAbortLog(topics.deviceState, 0)
  })
  afterAll(async () => {
    await bridge?.kill('SIGTERM')
    await dropTopics(topics)
  })

  it('reads past it, serves a device, and stays up', async () => {
    bridge = await spawnBridge(bridgeConfig(topics), { built })
    await ready(bridge)
    const client = await DeviceClient.connect(bridge.url, { token: await deviceToken('dev-after-abort') })
    expect((await client.hello()).watermark).toBe(0)
    client.send({ type: 'produce', records: jsonRecords(1, 3) })
    await client.ackedThrough(3)
    client.close()
    expect(bridge.child.exitCode).toBeNull()
    expect(bridge.child.signalCode).toBeNull()
  })
})
