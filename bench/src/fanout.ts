// fanout: a new model version reaches 10,000 connected sessions. Devices are
// connected to one bridge child process; the rollout of v2 is promoted to
// 100 % (one transaction on edge.models) and every session's `model` frame
// for v2 is timed from the moment that commit returned.
import { randomUUID } from 'node:crypto'
import { ModelRegistry } from '../../proxy-bridge/src/models/registry.ts'
import { withPromoted } from '../../proxy-bridge/src/models/model-state.ts'
import { changeModelState } from '../../proxy-bridge/src/models/state-writer.ts'
import { clientEvents } from './client-events.ts'
import { modelBridgeConfig, publishModel, wineVersion } from './model-fixtures.ts'
import type { BenchResult } from './report.ts'
import { benchTopics, startBridgeProcess } from './bridge-process.ts'
import { log, sleep, spawnNode, startKafka, Teardown, envNumber } from './stack.ts'
import { percentile, round } from './stats.ts'

export const fanoutSettings = {
  sessions: envNumber('BENCH_SESSIONS', 10_000),
  children: envNumber('BENCH_CLIENT_PROCESSES', 4),
}
export const fanoutTargets = { p100_ms: 2000 }

interface FanoutEvent {
  event: 'ready' | 'received' | 'final' | 'error'
  welcomed?: number
  failed?: number
  received?: number
  times?: number[]
  message?: string
}

export async function fanout(): Promise<BenchResult> {
  const td = new Teardown()
  try {
    const s = fanoutSettings
    const { brokers } = await startKafka(td, 'fanout')
    const prefix = `fanout-${randomUUID().slice(0, 8)}`
    const topics = benchTopics(prefix)
    const bridge = await startBridgeProcess(td, { brokers, prefix, config: modelBridgeConfig('fanout') })
    log('publishing wine v1 (100 %) and v2 (0 %)')
    await publishModel(wineVersion(1, 100), bridge, brokers)
    await publishModel(wineVersion(2, 0), bridge, brokers)

    log(`opening ${s.sessions} sessions from ${s.children} processes`)
    const per = Math.ceil(s.sessions / s.children)
    const clients = Array.from({ length: s.children }, (_, i) => {
      const child = spawnNode(td, `fanout-client-${i}`, ['--import', 'tsx', 'bench/src/fanout-client.ts'], {
        env: {
          BRIDGE_URL: bridge.url,
          COUNT: String(Math.min(per, s.sessions - i * per)),
          FIRST: String(i * per),
          VERSION: '2',
        },
        stdin: true,
        stdout: 'pipe',
      })
      return { child, next: clientEvents<FanoutEvent>(child, 'fanout client') }
    })
    const ready = await Promise.all(clients.map((c) => c.next('ready', 300_000)))
    const welcomed = ready.reduce((n, r) => n + (r.welcomed ?? 0), 0)
    log(`${welcomed} sessions open (rss ${bridge.rss.sample() >> 10} MB); promoting v2 to 100 %`)
    await sleep(1000)

    const registry = new ModelRegistry({ brokers, clientId: 'bench-fanout', topic: topics.models, keys: undefined })
    await registry.start()
    const started = Date.now()
    await changeModelState(
      {
        brokers,
        clientId: 'bench-fanout',
        modelsTopic: topics.models,
        read: async (name) => {
          await registry.caughtUp()
          return registry.get(name)
        },
      },
      'wine',
      async ({ current }) => ({ state: current && withPromoted(current, 2, 100), result: undefined }),
    )
    const committed = Date.now()
    await registry.close()
    // Until every session has v2, or long after the target: sessions still
    // without it then count as missed, and no p100 is claimed.
    const waitMs = Math.max(30_000, 10 * fanoutTargets.p100_ms)
    await Promise.all(clients.map((c) => c.next('received', waitMs).catch(() => undefined)))
    for (const c of clients) c.child.process.stdin?.write('report\n')
    const finals = await Promise.all(clients.map((c) => c.next('final', 60_000)))
    const latencies = finals
      .flatMap((f) => f.times ?? [])
      .map((t) => Math.max(0, t - committed))
      .sort((a, b) => a - b)
    const missed = welcomed - latencies.length
    if (missed > 0) log(`${missed} open sessions did not get v2 within ${waitMs} ms`)
    const result: BenchResult = {
      benchmark: 'fanout',
      sessions: latencies.length,
      sessions_open: welcomed,
      sessions_missed: missed,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      // The slowest session's time only when every open session got v2.
      p100_ms: missed === 0 ? (latencies[latencies.length - 1] ?? null) : null,
      commit_ms: committed - started,
      bridge_rss_mb: bridge.rss.peakMb,
      target_p100_ms: fanoutTargets.p100_ms,
    }
    log(`fanout: ${JSON.stringify(result)}`)
    return { ...result, p100_ms: result.p100_ms === null ? null : round(Number(result.p100_ms)) }
  } finally {
    await td.run()
  }
}
