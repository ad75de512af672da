import { randomUUID } from 'node:crypto'
import { CloseCodes } from '@kafka-edge/edge-agent/protocol'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics, metric, startTestBridge } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { DeviceClient, seqRange } from '../support/device-client.ts'
import { keyed, ongoingTransactions, type RawMessage, readTopic } from '../support/kafka.ts'
import { partitionOf } from '../../proxy-bridge/src/kafka/device-state.ts'

const value = (deviceId: string, seq: number) => ({ deviceId, seq, reading: Math.sin(seq) })

function ackedWatermark(client: DeviceClient): number {
  return Math.max(0, ...client.acks().map((a) => a.watermark))
}

/** What Kafka holds for the device, read_committed, as seqs in offset order. */
async function seqsInKafka(topic: string, deviceId: string, expect: number): Promise<number[]> {
  return seqsOf(await readTopic(topic, { until: keyed(deviceId, expect) }), deviceId)
}

/** The device's seqs among records read from Kafka, in offset order. */
function seqsOf(messages: RawMessage[], deviceId: string): number[] {
  const mine = messages.filter((m) => m.key.toString() === deviceId)
  // Per-device order lives in one partition.
  expect_(new Set(mine.map((m) => m.partition)).size).toBe(1)
  return mine.map((m) => {
    const parsed = JSON.parse(m.value.toString()) as ReturnType<typeof value>
    expect_(parsed).toEqual(value(deviceId, parsed.seq))
    return parsed.seq
  })
}
const expect_ = expect

describe('exactly once across bridge crashes and bridge changes', () => {
  const topics = isolatedTopics()
  const children: BridgeProcess[] = []
  const bridges: Bridge[] = []

  beforeAll(async () => {
    // Creates the topics once, so child bridges start against existing ones.
    bridges.push(await startTestBridge(topics))
  })
  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()))
    await Promise.all(bridges.map((b) => b.close()))
    await dropTopics(topics)
  })

  for (const crashAt of ['after-commit', 'before-commit'] as const) {
    it(`kill -9 of the bridge ${crashAt.replace('-', ' ')} of a batch, then a resend: no duplicate, no gap`, async () => {
      const deviceId = `dev-crash-${crashAt}`
      const token = await deviceToken(deviceId)
      const doomed = await spawnBridge(bridgeConfig(topics, { testFaults: { crashOnTransaction: 2, crashAt } }))
      children.push(doomed)

      const first = await DeviceClient.connect(doomed.url, { token })
      await first.hello()
      first.sendRange(1, 10, (s) => value(deviceId, s))
      await first.ackedThrough(10)
      first.sendRange(11, 20, (s) => value(deviceId, s))
      expect(await doomed.exited).toBe('SIGKILL')
      await first.waitClosed()
      // The crash came before the ack: the device still holds 11..20.
      expect(ackedWatermark(first)).toBe(10)

      // The survivor runs as production runs the bridge: built into one file, with its V8 flags.
      const survivor = await spawnBridge(bridgeConfig(topics), { built: true })
      children.push(survivor)
      const second = await DeviceClient.connect(survivor.url, { token })
      const welcome = await second.hello()
      expect(welcome.watermark).toBe(crashAt === 'after-commit' ? 20 : 10)
      // A device always resends everything unacked; the bridge sorts out what Kafka has.
      second.sendRange(11, 30, (s) => value(deviceId, s))
      await second.ackedThrough(30)
      const duplicateAcks = second.acks().flatMap((a) => a.ranges.filter((r) => r.duplicate))
      expect(duplicateAcks.length > 0).toBe(crashAt === 'after-commit')

      expect(await seqsInKafka(topics.records, deviceId, 30)).toEqual(seqRange(1, 30))
      if (crashAt === 'before-commit') {
        // The open transaction really reached Kafka before the crash, and was aborted.
        const uncommitted = (await readTopic(topics.records, { readCommitted: false, idleMs: 1000 })).filter(
          (m) => m.key.toString() === deviceId,
        )
        expect(uncommitted.length).toBe(40)
      }
      second.close()
      await survivor.kill('SIGTERM')
    })
  }

  /** The first `${name}-${i}` whose state shares `deviceId`'s partition (and that `also` accepts). */
  function sameStatePartition(deviceId: string, name: string, also: (id: string) => boolean = () => true): string {
    const partitions = bridgeConfig(topics).kafka?.partitions as number
    const statePartition = partitionOf(deviceId, partitions)
    for (let i = 0; ; i++) {
      const id = `${name}-${i}`
      if (partitionOf(id, partitions) === statePartition && also(id)) return id
    }
  }

  /**
   * A bridge child that commits records 1-10 of `deviceId`; the returned
   * crash() has it die (kill -9) with 11-20 in a transaction left open.
   */
  async function doomedHolder(deviceId: string, prefix: string): Promise<() => Promise<void>> {
    const doomed = await spawnBridge(
      bridgeConfig(topics, {
        testFaults: { crashOnTransaction: 2, crashAt: 'before-commit' },
        // Kafka would abort the open transaction only after this: far beyond a claim's own 30 s wait.
        exactlyOnce: { transactionalIdPrefix: prefix, transactionTimeoutMs: 300_000 },
      }),
    )
    children.push(doomed)
    const device = await DeviceClient.connect(doomed.url, { token: await deviceToken(deviceId) })
    await device.hello()
    device.sendRange(1, 10, (s) => value(deviceId, s))
    await device.ackedThrough(10)
    return async () => {
      device.sendRange(11, 20, (s) => value(deviceId, s))
      expect(await doomed.exited).toBe('SIGKILL')
      expect(await ongoingTransactions(prefix)).toHaveLength(1)
    }
  }

  it("a crashed bridge's open transaction does not hold up other devices' claims on its state partition, and live bridges there are spared", async () => {
    const crashedId = 'dev-crashed-holder'
    const prefix = `it-crash-${randomUUID().slice(0, 8)}`
    const onStatePartition = (name: string) => sameStatePartition(crashedId, name)
    // A live bridge that claimed a device on the same state partition: the fence must not touch it.
    const live = await startTestBridge(topics)
    bridges.push(live)
    const neighbourId = onStatePartition('dev-live-neighbour')
    const neighbour = await DeviceClient.connect(live.url, { token: await deviceToken(neighbourId) })
    await neighbour.hello()
    neighbour.sendRange(1, 5, (s) => value(neighbourId, s))
    await neighbour.ackedThrough(5)
    const crash = await doomedHolder(crashedId, prefix)
    await crash()

    // A device the crashed bridge never held, whose state shares the partition its open transaction blocks.
    const otherId = onStatePartition('dev-bystander')
    const claimer = bridges[0] as Bridge
    const fencedBefore = await metric(claimer, 'kafka_edge_fenced_transactional_ids_total')
    const other = await DeviceClient.connect(claimer.url, { token: await deviceToken(otherId) })
    await other.hello()
    other.sendRange(1, 5, (s) => value(otherId, s))
    // Its claim cannot be read back behind the open transaction: after 3 s the bridge fences the lane stuck there.
    await other.ackedThrough(5, 25_000)
    other.close()
    // The crashed bridge's lane alone: the live bridge, which claimed on the partition too, kept its epoch.
    expect((await metric(claimer, 'kafka_edge_fenced_transactional_ids_total')) - fencedBefore).toBe(1)
    neighbour.sendRange(6, 10, (s) => value(neighbourId, s))
    await neighbour.ackedThrough(10)
    expect(neighbour.closed).toBeUndefined()
    expect(await metric(live, 'kafka_edge_transactions_aborted_total')).toBe(0)
    neighbour.close()
    expect(await seqsInKafka(topics.records, neighbourId, 10)).toEqual(seqRange(1, 10))

    expect(await seqsInKafka(topics.records, otherId, 5)).toEqual(seqRange(1, 5))
    // The fence aborted the crashed bridge's transaction: only what it committed is visible.
    expect(await seqsInKafka(topics.records, crashedId, 10)).toEqual(seqRange(1, 10))
    expect(await ongoingTransactions(prefix)).toEqual([])
  })

  it("the partition fence finds a crashed bridge's stuck lane also after 16 other lanes claimed on its partition", async () => {
    const crashedId = 'dev-aged-holder'
    // Its prefix starts with the other bridges' ('kafka-edge'), as the bridges of one deployment share one.
    const prefix = `kafka-edge-it-aged-${randomUUID().slice(0, 8)}`
    const crash = await doomedHolder(crashedId, prefix)

    // Sixteen lanes claim a device each on the same state partition: the
    // crashed bridge's lane drops out of the 16 recent owners there.
    const lanes = 16
    const many = await startTestBridge(topics, { exactlyOnce: { lanes } })
    bridges.push(many)
    for (let lane = 0; lane < lanes; lane++) {
      const id = sameStatePartition(crashedId, `dev-aged-claimer-${lane}`, (id) => partitionOf(id, lanes) === lane)
      const client = await DeviceClient.connect(many.url, { token: await deviceToken(id) })
      await client.hello()
      client.sendRange(1, 1, (s) => value(id, s))
      await client.ackedThrough(1)
      client.close()
    }
    await crash()

    const bystanderId = sameStatePartition(crashedId, 'dev-aged-bystander')
    const claimer = bridges[0] as Bridge
    const other = await DeviceClient.connect(claimer.url, { token: await deviceToken(bystanderId) })
    await other.hello()
    other.sendRange(1, 5, (s) => value(bystanderId, s))
    // Kafka would abort the stuck transaction only after 300 s: the claim gets through because Kafka's list of ongoing transactions named the lane.
    await other.ackedThrough(5, 25_000)
    other.close()
    expect(await ongoingTransactions(prefix)).toEqual([])
    expect(await seqsInKafka(topics.records, bystanderId, 5)).toEqual(seqRange(1, 5))
    expect(await seqsInKafka(topics.records, crashedId, 10)).toEqual(seqRange(1, 10))
  })

  it('devices that all move to another bridge at once lose and double nothing, and their claims share the fences', async () => {
    const count = 40
    const ids = Array.from({ length: count }, (_, i) => `dev-herd-${i}`)
    const from = bridges[0] as Bridge
    const to = await startTestBridge(topics)
    bridges.push(to)
    await Promise.all(
      ids.map(async (id) => {
        const client = await DeviceClient.connect(from.url, { token: await deviceToken(id) })
        await client.hello()
        client.sendRange(1, 10, (s) => value(id, s))
        await client.ackedThrough(10)
        client.close()
      }),
    )

    // As when a load balancer sends every device of a bridge elsewhere at once.
    const moved = await Promise.all(
      ids.map(async (id) => {
        const client = await DeviceClient.connect(to.url, { token: await deviceToken(id) })
        await client.hello()
        client.sendRange(11, 20, (s) => value(id, s))
        return client
      }),
    )
    await Promise.all(moved.map((c) => c.ackedThrough(20)))
    for (const c of moved) c.close()

    const complete = ids.map((id) => keyed(id, 20))
    const messages = await readTopic(topics.records, { until: (m) => complete.every((done) => done(m)) })
    for (const id of ids) expect(seqsOf(messages, id)).toEqual(seqRange(1, 20))
    // Every claim had to fence the first bridge's lane: one fence per device, were they not shared.
    const fenced = await metric(to, 'kafka_edge_fenced_transactional_ids_total')
    const rounds = await metric(to, 'kafka_edge_fence_rounds_total')
    expect(fenced).toBeGreaterThanOrEqual(1)
    expect(fenced).toBeLessThan(count)
    expect(rounds).toBeLessThan(count / 2)
  })

  it('a device that moves to another bridge mid-stream loses nothing and doubles nothing', async () => {
    const deviceId = 'dev-mover'
    const token = await deviceToken(deviceId)
    const a = bridges[0] as Bridge
    const b = await startTestBridge(topics)
    bridges.push(b)

    const onA = await DeviceClient.connect(a.url, { token })
    await onA.hello()
    onA.sendRange(1, 200, (s) => value(deviceId, s))
    await onA.ackedThrough(50)
    // Switch while frames are still in flight on A.
    const onB = await DeviceClient.connect(b.url, { token })
    const welcome = await onB.hello()
    const resumeFrom = Math.max(ackedWatermark(onA), welcome.watermark) + 1
    onB.sendRange(resumeFrom, 300, (s) => value(deviceId, s))
    await onB.ackedThrough(300)
    // A was fenced by B's claim, or had finished: either way it wrote nothing twice.
    if (onA.closed) expect(onA.closed.code).toBe(CloseCodes.SESSION_REPLACED)
    onA.close()
    onB.close()

    expect(await seqsInKafka(topics.records, deviceId, 300)).toEqual(seqRange(1, 300))
  })

  it('a device that moved on from a bridge is not fenced against that bridge again: the next claim fences only the latest owner', async () => {
    const deviceId = 'dev-wanderer'
    const token = await deviceToken(deviceId)
    const writeOn = async (bridge: Bridge, from: number, to: number) => {
      const client = await DeviceClient.connect(bridge.url, { token })
      await client.hello()
      client.sendRange(from, to, (s) => value(deviceId, s))
      await client.ackedThrough(to)
      client.close()
    }
    const a = bridges[0] as Bridge
    await writeOn(a, 1, 10)
    const b = await startTestBridge(topics)
    bridges.push(b)
    await writeOn(b, 11, 20)
    // C reads the device-state topic from its start: A's and B's claims, then B's watermark.
    const c = await startTestBridge(topics)
    bridges.push(c)
    await writeOn(c, 21, 30)

    // B wrote under its claim, so it had fenced A: C fences B alone, not A again. A claim read
    // back after more than 1 s fences its owners a second time (device-writer.ts): one id a round.
    const rounds = await metric(c, 'kafka_edge_fence_rounds_total')
    expect(rounds).toBeGreaterThanOrEqual(1)
    expect(await metric(c, 'kafka_edge_fenced_transactional_ids_total')).toBe(rounds)
    expect(await seqsInKafka(topics.records, deviceId, 30)).toEqual(seqRange(1, 30))
  })

  it('an exact hello on another bridge, mid-stream, answers with what Kafka holds: new records after it are never taken for duplicates', async () => {
    const deviceId = 'dev-exact'
    const token = await deviceToken(deviceId)
    const [a, b] = bridges as [Bridge, Bridge]
    const onA = await DeviceClient.connect(a.url, { token })
    await onA.hello()
    onA.sendRange(1, 300, (s) => value(deviceId, s))
    await onA.ackedThrough(30)
    // Frames are still in flight on A: B's claim fences A, so each of them
    // either committed before the claim (and counts) or never will.
    const onB = await DeviceClient.connect(b.url, { token })
    const { watermark } = await onB.hello(undefined, { exact: true })
    expect(watermark).toBeGreaterThanOrEqual(ackedWatermark(onA))
    // A is fenced: whatever it sends now fails, and its session ends as replaced.
    onA.sendRange(301, 301, (s) => value(deviceId, s))
    expect((await onA.waitClosed()).code).toBe(CloseCodes.SESSION_REPLACED)
    // What a renumbering agent does: new records right after the watermark.
    const renumbered = Array.from({ length: 50 }, (_, i) => ({
      seq: watermark + 1 + i,
      value: { ...value(deviceId, watermark + 1 + i), renumbered: true },
    }))
    onB.send({ type: 'produce', records: renumbered })
    const acks = await onB.ackedThrough(watermark + 50)
    expect(acks.flatMap((a) => a.ranges).filter((r) => r.duplicate && r.to > watermark)).toEqual([])
    onB.close()

    const messages = await readTopic(topics.records, { until: keyed(deviceId, watermark + 50) })
    const mine = messages.filter((m) => m.key.toString() === deviceId).map((m) => JSON.parse(m.value.toString()))
    expect(mine.map((v) => v.seq)).toEqual(seqRange(1, watermark + 50))
    expect(mine.filter((v) => v.renumbered).map((v) => v.seq)).toEqual(seqRange(watermark + 1, watermark + 50))
  })

  it('a zombie session on one bridge cannot double what a live session on another wrote', async () => {
    const deviceId = 'dev-zombie'
    const token = await deviceToken(deviceId)
    const [a, b] = bridges as [Bridge, Bridge]
    const zombie = await DeviceClient.connect(a.url, { token })
    await zombie.hello()
    const live = await DeviceClient.connect(b.url, { token })
    await live.hello()
    // Both send the same records at once, each to its own bridge.
    zombie.sendRange(1, 100, (s) => value(deviceId, s))
    live.sendRange(1, 100, (s) => value(deviceId, s))
    await Promise.allSettled([zombie.ackedThrough(100, 15_000), live.ackedThrough(100, 15_000)])
    zombie.close()
    live.close()

    // Whatever each saw, a clean session finishes the job from the watermark.
    const last = await DeviceClient.connect(b.url, { token })
    const welcome = await last.hello()
    if (welcome.watermark < 100) {
      last.sendRange(welcome.watermark + 1, 100, (s) => value(deviceId, s))
      await last.ackedThrough(100)
    }
    last.close()
    expect(await seqsInKafka(topics.records, deviceId, 100)).toEqual(seqRange(1, 100))
  })
})
