// connections: 10,000 idle authenticated sessions with heartbeats on one bridge
// process, its peak RSS, and a bare `ws` server holding the same sockets.
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { clientEvents } from './client-events.ts'
import type { BenchResult } from './report.ts'
import { startBridgeProcess } from './bridge-process.ts'
import { RssSampler } from './meters.ts'
import { type Child, log, sleep, spawnNode, startKafka, Teardown, envNumber } from './stack.ts'
import { metricValue, round } from './stats.ts'

export const connectionsSettings = {
  sessions: envNumber('BENCH_SESSIONS', 10_000),
  children: envNumber('BENCH_CLIENT_PROCESSES', 4),
  concurrency: envNumber('BENCH_CONNECT_CONCURRENCY', 50),
  holdMs: envNumber('BENCH_HOLD_MS', 32_000),
  heartbeatMs: 15_000,
}

export const connectionsTargets = { sessions: 10_000, bridge_rss_mb: 300 }

interface ConnEvent {
  event: 'ready' | 'final' | 'error'
  welcomed?: number
  failed?: number
  open?: number
  closed?: number
  pings?: number
  failures?: Record<string, number>
  closeCodes?: Record<string, number>
  ms?: number
  message?: string
}

interface HoldResult {
  welcomed: number
  open: number
  closed: number
  pings: number
  connectMs: number
  failures: Record<string, number>
  closeCodes: Record<string, number>
}

/** Opens the sessions from several child processes, holds them, and collects what each saw. */
async function holdSessions(
  td: Teardown,
  url: string,
  tag: string,
  rss: RssSampler,
  beforeReport: () => Promise<void> = async () => {},
): Promise<HoldResult> {
  const s = connectionsSettings
  const per = Math.ceil(s.sessions / s.children)
  const clients: { child: Child; next: ReturnType<typeof clientEvents<ConnEvent>> }[] = []
  const started = performance.now()
  for (let i = 0; i < s.children; i++) {
    const count = Math.min(per, s.sessions - i * per)
    const child = spawnNode(td, `${tag}-client-${i}`, ['--import', 'tsx', 'bench/src/conn-client.ts'], {
      env: {
        BRIDGE_URL: url,
        COUNT: String(count),
        FIRST: String(i * per),
        CONCURRENCY: String(s.concurrency),
        TAG: tag,
      },
      stdin: true,
      stdout: 'pipe',
    })
    clients.push({ child, next: clientEvents<ConnEvent>(child, 'load generator') })
  }
  const ready = await Promise.all(clients.map((c) => c.next('ready', 180_000)))
  const connectMs = Math.round(performance.now() - started)
  const welcomed = ready.reduce((n, e) => n + (e.welcomed ?? 0), 0)
  log(`${tag}: ${welcomed} sessions welcomed in ${connectMs} ms (rss ${rss.lastMb} MB); holding ${s.holdMs} ms`)
  const holdUntil = Date.now() + s.holdMs
  while (Date.now() < holdUntil) {
    await sleep(Math.min(5000, holdUntil - Date.now()))
    log(`${tag}: holding, rss ${rss.sample() >> 10} MB (peak ${rss.peakMb} MB)`)
  }
  // Sampled while every socket is still open: the report makes the clients close them.
  await beforeReport()
  for (const c of clients) c.child.process.stdin?.write('report\n')
  const finals = await Promise.all(clients.map((c) => c.next('final', 30_000)))
  await Promise.all(clients.map((c) => c.child.stop(5000)))
  const merge = (key: 'failures' | 'closeCodes', events: ConnEvent[]) => {
    const out: Record<string, number> = {}
    for (const e of events) for (const [k, v] of Object.entries(e[key] ?? {})) out[k] = (out[k] ?? 0) + v
    return out
  }
  return {
    welcomed,
    open: finals.reduce((n, e) => n + (e.open ?? 0), 0),
    closed: finals.reduce((n, e) => n + (e.closed ?? 0), 0),
    pings: finals.reduce((n, e) => n + (e.pings ?? 0), 0),
    connectMs,
    failures: merge('failures', ready),
    closeCodes: merge('closeCodes', finals),
  }
}

async function bareServer(td: Teardown): Promise<{ child: Child; url: string; rss: RssSampler }> {
  const child = spawnNode(td, 'bare-ws-server', ['--import', 'tsx', 'bench/src/bare-ws-server.ts'], {
    env: { HEARTBEAT_MS: String(connectionsSettings.heartbeatMs) },
    stdout: 'pipe',
  })
  const stdout = child.process.stdout
  if (!stdout) throw new Error('bare server has no stdout')
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare ws server did not start')), 30_000)
    createInterface({ input: stdout }).on('line', (line) => {
      const m = /^listening (\d+)/.exec(line)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
  })
  const rss = new RssSampler(child.pid)
  td.add('bare rss', () => rss.stop())
  return { child, url: `http://127.0.0.1:${port}`, rss }
}

export async function connections(): Promise<BenchResult> {
  const s = connectionsSettings
  const td = new Teardown()
  try {
    const { brokers } = await startKafka(td, 'connections')
    const prefix = `bench-${randomUUID().slice(0, 6)}`
    const bridge = await startBridgeProcess(td, {
      brokers,
      prefix,
      config: { limits: { heartbeatMs: s.heartbeatMs } },
      cpuProf: process.env.BENCH_CPU_PROF === '1',
    })
    const bridgeIdleMb = bridge.rss.lastMb
    let connectedMetric = -1
    const held = await holdSessions(td, bridge.url, 'dev', bridge.rss, async () => {
      const metrics = await bridge.metrics().catch(() => '')
      connectedMetric = metricValue(metrics, 'kafka_edge_connected_devices')
    })
    const bridgeRss = bridge.rss.peakMb
    log(`bridge: ${held.open} sessions open after hold; peak RSS ${bridgeRss} MB; metric connected=${connectedMetric}`)
    await bridge.stop()
    bridge.rss.stop()

    const bare = await bareServer(td)
    const bareIdleMb = bare.rss.lastMb
    const bareHeld = await holdSessions(td, bare.url, 'bare', bare.rss)
    const bareRss = bare.rss.peakMb
    log(`bare ws: ${bareHeld.open} sockets open after hold; peak RSS ${bareRss} MB`)
    await bare.child.stop()
    bare.rss.stop()

    return {
      bench: 'connections',
      sessions: held.open,
      bridge_rss_mb: bridgeRss,
      bare_ws_rss_mb: bareRss,
      ratio: round(bridgeRss / bareRss, 2),
      bare_ws_sessions: bareHeld.open,
      bridge_idle_rss_mb: bridgeIdleMb,
      bare_ws_idle_rss_mb: bareIdleMb,
      bridge_kb_per_session: round(((bridgeRss - bridgeIdleMb) * 1024) / Math.max(1, held.open), 1),
      bare_ws_kb_per_session: round(((bareRss - bareIdleMb) * 1024) / Math.max(1, bareHeld.open), 1),
      welcomed: held.welcomed,
      connect_s: round(held.connectMs / 1000, 1),
      hold_s: s.holdMs / 1000,
      heartbeat_ms: s.heartbeatMs,
      pings_per_session: round(held.pings / Math.max(1, held.welcomed), 2),
      bridge_connected_devices_metric: connectedMetric,
      connect_failures: held.failures,
      close_codes: held.closeCodes,
      targets: { sessions: connectionsTargets.sessions, bridge_rss_mb_max: connectionsTargets.bridge_rss_mb },
      pass: held.open >= connectionsTargets.sessions && bridgeRss <= connectionsTargets.bridge_rss_mb,
      setup: {
        client_processes: s.children,
        connect_concurrency_per_process: s.concurrency,
        load_avg_1m_at_end: round(loadavg()[0] ?? 0, 1),
      },
    }
  } finally {
    await td.run()
  }
}
