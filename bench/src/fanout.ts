// fanout: a new model version reaches 10,000 connected sessions. Devices are
// connected to one bridge child process; the rollout of v2 is promoted to
// 100 % (one transaction on edge.models) and every session's `model` frame
// for v2 is timed from the moment that commit returned.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ModelRegistry } from '../../proxy-bridge/src/models/registry.ts'
import { withPromoted } from '../../proxy-bridge/src/models/model-state.ts'
import { changeModelState } from '../../proxy-bridge/src/models/state-writer.ts'
import { devPublicKey, wineVersion } from './model-fixtures.ts'
import type { BenchResult } from './report.ts'
import {
  benchTopics,
  type Child,
  log,
  percentile,
  repoRoot,
  round,
  sleep,
  spawnNode,
  startBridgeProcess,
  startKafka,
  Teardown,
  workDir,
  envNumber,
} from './stack.ts'

export const fanoutSettings = {
  sessions: envNumber('BENCH_SESSIONS', 10_000),
  children: envNumber('BENCH_CLIENT_PROCESSES', 4),
}
export const fanoutTargets = { p100_ms: 2000 }

interface ClientLine {
  event: 'ready' | 'final' | 'error'
  welcomed?: number
  failed?: number
  received?: number
  times?: number[]
  message?: string
}

function reader(child: Child): (event: ClientLine['event'], timeoutMs: number) => Promise<ClientLine> {
  const queue: ClientLine[] = []
  const stdout = child.process.stdout
  if (!stdout) throw new Error('client has no stdout')
  createInterface({ input: stdout }).on('line', (line) => {
    try {
      queue.push(JSON.parse(line) as ClientLine)
    } catch {
      // not ours
    }
  })
  return async (event, timeoutMs) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = queue.findIndex((e) => e.event === event || e.event === 'error')
      if (i >= 0) {
        const found = queue.splice(i, 1)[0] as ClientLine
        if (found.event === 'error') throw new Error(`fanout client failed: ${found.message}`)
        return found
      }
      if (Date.now() > deadline) throw new Error(`no "${event}" from a fanout client within ${timeoutMs} ms`)
      await sleep(100)
    }
  }
}

function cli(args: string[], brokers: string[]): Promise<void> {
  const bin = join(repoRoot, 'proxy-bridge/bin/kafka-edge-models.js')
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args, '--brokers', brokers.join(','), '--trusted-key', `dev=${devPublicKey}`, '--quiet'],
      (error, _out, stderr) =>
        error ? reject(new Error(`kafka-edge-models ${args[0]} failed: ${stderr}`)) : resolve(),
    )
  })
}

export async function fanout(): Promise<BenchResult> {
  const td = new Teardown()
  try {
    const s = fanoutSettings
    const { brokers } = await startKafka(td, 'fanout')
    const prefix = `fanout-${randomUUID().slice(0, 8)}`
    const topics = benchTopics(prefix)
    const bridge = await startBridgeProcess(td, {
      brokers,
      prefix,
      config: { models: { signingKeys: { dev: devPublicKey }, cacheDir: join(workDir, 'fanout-cache') } },
    })
    const configFile = join(workDir, `${prefix}-bridge.json`)
    log('publishing wine v1 (100 %) and v2 (0 %)')
    await cli(['publish', wineVersion(1, 100), '--config', configFile], brokers)
    await cli(['publish', wineVersion(2, 0), '--config', configFile], brokers)

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
      return { child, next: reader(child) }
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
    await sleep(Math.max(3000, 2 * fanoutTargets.p100_ms))
    for (const c of clients) c.child.process.stdin?.write('report\n')
    const finals = await Promise.all(clients.map((c) => c.next('final', 60_000)))
    const latencies = finals
      .flatMap((f) => f.times ?? [])
      .map((t) => Math.max(0, t - committed))
      .sort((a, b) => a - b)
    const result: BenchResult = {
      benchmark: 'fanout',
      sessions: latencies.length,
      sessions_open: welcomed,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      p100_ms: latencies[latencies.length - 1] ?? null,
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
