import { type Bridge, resolveConfig, startBridge } from '@kafka-edge/proxy-bridge'
import { freePort } from '@kafka-edge/dev-kafka'
import { afterAll, describe, expect, it } from 'vitest'
import { isolatedTopics } from '../support/bridge.ts'
import { brokers, deleteTopics } from '../support/kafka.ts'

describe('bridge health and readiness', () => {
  const bridges: Bridge[] = []
  const topics = isolatedTopics()
  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.close()))
    await deleteTopics(Object.values(topics))
  })

  it('creates the topics it needs and is ready once Kafka answers', async () => {
    const bridge = await startBridge(
      resolveConfig({ port: 0, logLevel: 'silent', kafka: { brokers: brokers(), partitions: 2 }, topics }),
    )
    bridges.push(bridge)
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${bridge.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
  })

  it('stays alive but not ready while Kafka is unreachable', async () => {
    const deadPort = await freePort()
    const bridge = await startBridge(
      resolveConfig({
        port: 0,
        logLevel: 'silent',
        kafka: { brokers: [`127.0.0.1:${deadPort}`], createTopics: false },
        topics: isolatedTopics(),
      }),
    )
    bridges.push(bridge)
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${bridge.url}/readyz`)
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { status: string }).status).toBe('not-ready')
  })
})
