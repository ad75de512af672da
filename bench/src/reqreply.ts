// Benchmark `reqreply` (bench/README.md): (a) request/reply round trip through
// Kafka at a fixed rate, HTTP → commands topic → device → replies topic → HTTP;
// (b) fan-out of the commands topic from one bridge to many subscribed devices.
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'
import { Producer } from '@platformatic/kafka'
import type { BenchResult } from './report.ts'
import { type BridgeProcess, benchTopics, deviceToken, startBridgeProcess } from './bridge-process.ts'
import { CpuMeter } from './meters.ts'
import { log, sleep, startKafka, Teardown, envNumber } from './stack.ts'
import { percentile, round } from './stats.ts'
import { BenchSubscriber } from './subscriber.ts'

export const reqreplySettings = {
  rate: envNumber('BENCH_REQREPLY_RATE', 200),
  devices: envNumber('BENCH_REQREPLY_DEVICES', 20),
  // The round trip runs first, on a fresh broker whose JVM compiles its hot
  // paths in its first minute: after 3 s Kafka still used a whole core and
  // the p99 measured that (66-83 ms against 25-37 ms after 20 s).
  warmupMs: envNumber('BENCH_WARMUP_MS', 20_000),
  /** The fan-out runs on the broker the round trip warmed. */
  fanoutWarmupMs: envNumber('BENCH_WARMUP_MS', 3000),
  windowMs: envNumber('BENCH_WINDOW_MS', 20_000),
  fanoutDevices: envNumber('BENCH_FANOUT_DEVICES', 1000),
  fanoutRate: envNumber('BENCH_FANOUT_RATE', 10),
}
export const reqreplyTargets = { p99_ms: 50 }

async function connectAll(
  bridge: BridgeProcess,
  subscribers: BenchSubscriber[],
  topic: string,
  concurrency = 25,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < subscribers.length) {
        const s = subscribers[next++] as BenchSubscriber
        await s.connect(bridge.url, await deviceToken(s.deviceId), topic)
      }
    }),
  )
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b)

/** (a): open-loop HTTP requests at `rate`/s, answered at once by simulated devices. */
async function roundTrip(td: Teardown, brokers: string[], kafkaPid: number | undefined): Promise<BenchResult> {
  const s = reqreplySettings
  const prefix = `reqreply-${randomUUID().slice(0, 8)}`
  const topics = benchTopics(prefix)
  const bridge = await startBridgeProcess(td, { brokers, prefix, cpuProf: process.env.BENCH_CPU_PROF === '1' })
  const reached = new Map<string, number>()
  const devices = Array.from(
    { length: s.devices },
    (_, i) => new BenchSubscriber(`rr-${i}`, { onRequest: (id, at) => reached.set(id, at) }),
  )
  await connectAll(bridge, devices, topics.commands)
  td.add('request devices', () => {
    for (const d of devices) d.close()
  })
  log(`${devices.length} devices subscribed; ${s.rate} requests/s for ${s.warmupMs} ms warm-up + ${s.windowMs} ms`)

  const operator = await deviceToken('bench-operator', ['operators'])
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  td.add('http agent', () => agent.destroy())
  const latencies: number[] = []
  const requestLeg: number[] = []
  const replyLeg: number[] = []
  const failures: Record<string, number> = {}
  let inWindow = 0
  const post = async (n: number, measure: boolean) => {
    const device = devices[n % devices.length] as BenchSubscriber
    const body = JSON.stringify({ request: { type: 'predict', input: { x: n } }, timeoutMs: 10_000 })
    const started = Date.now()
    const t0 = performance.now()
    const { status, text } = await httpPost(
      agent,
      `${bridge.url}/v1/devices/${device.deviceId}/requests`,
      body,
      operator,
    )
    const ms = performance.now() - t0
    const ended = Date.now()
    if (status !== 200) {
      failures[status] = (failures[status] ?? 0) + 1
      return
    }
    if (!measure) return
    inWindow++
    latencies.push(ms)
    const { correlationId } = JSON.parse(text) as { correlationId: string }
    const at = reached.get(correlationId)
    reached.delete(correlationId)
    if (at !== undefined) {
      requestLeg.push(at - started)
      replyLeg.push(ended - at)
    }
  }

  const cpu = new CpuMeter({ bridge: bridge.pid, kafka: kafkaPid })
  const inflight = new Set<Promise<void>>()
  const begin = performance.now()
  const total = Math.round(((s.warmupMs + s.windowMs) / 1000) * s.rate)
  let sent = 0
  let cpuStarted = false
  while (sent < total) {
    const elapsed = performance.now() - begin
    if (!cpuStarted && elapsed >= s.warmupMs) {
      cpu.start()
      cpuStarted = true
    }
    const due = Math.min(total, Math.floor((elapsed / 1000) * s.rate))
    for (; sent < due; sent++) {
      const p = post(sent, elapsed >= s.warmupMs).catch((e: Error) => {
        failures[e.message] = (failures[e.message] ?? 0) + 1
      })
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    }
    await sleep(2)
  }
  const windowS = (performance.now() - begin - s.warmupMs) / 1000
  await Promise.all(inflight)
  const usage = cpu.stop()
  const all = sorted(latencies)
  const req = sorted(requestLeg)
  const rep = sorted(replyLeg)
  await bridge.stop()
  for (const d of devices) d.close()
  return {
    p50_ms: round(percentile(all, 50), 1),
    p99_ms: round(percentile(all, 99), 1),
    rate_per_s: round(inWindow / windowS, 1),
    max_ms: round(all[all.length - 1] ?? Number.NaN, 1),
    // Where the time goes: HTTP in → request record produced, fetched, sent to the device;
    // device's reply frame → reply record produced, fetched by the reply tail, HTTP answer.
    request_leg_p50_ms: percentile(req, 50),
    request_leg_p99_ms: percentile(req, 99),
    reply_leg_p50_ms: percentile(rep, 50),
    reply_leg_p99_ms: percentile(rep, 99),
    reqreply_failures: failures,
    reqreply_cpu_pct: usage,
  }
}

/** (b): one bridge, `fanoutDevices` subscribed devices, `fanoutRate` records/s each, produced keyed by device id. */
async function fanoutPhase(td: Teardown, brokers: string[], kafkaPid: number | undefined): Promise<BenchResult> {
  const s = reqreplySettings
  const prefix = `reqfan-${randomUUID().slice(0, 8)}`
  const topics = benchTopics(prefix)
  const bridge = await startBridgeProcess(td, { brokers, prefix })
  let delivered = 0
  let measuring = false
  const lags: number[] = []
  const devices = Array.from(
    { length: s.fanoutDevices },
    (_, i) =>
      new BenchSubscriber(`fan-${i}`, {
        onRecord: (lag) => {
          if (!measuring) return
          delivered++
          lags.push(lag)
        },
      }),
  )
  const connectStarted = performance.now()
  await connectAll(bridge, devices, topics.commands)
  td.add('fan-out devices', () => {
    for (const d of devices) d.close()
  })
  const connectS = (performance.now() - connectStarted) / 1000
  log(`${devices.length} devices subscribed in ${connectS.toFixed(1)} s; ${s.fanoutRate} records/s each`)

  const producer = new Producer({ clientId: `${prefix}-load`, bootstrapBrokers: brokers, acks: 1 })
  td.add('producer', () => producer.close())
  const padding = 'x'.repeat(60)
  const tickMs = 100
  const perTick = (s.fanoutDevices * s.fanoutRate * tickMs) / 1000
  let produced = 0
  let cursor = 0
  let producing = true
  let lateTicks = 0
  const loop = (async () => {
    const begin = performance.now()
    let tick = 0
    while (producing) {
      const t = Date.now()
      const messages = Array.from({ length: perTick }, () => {
        const device = devices[cursor++ % devices.length] as BenchSubscriber
        return {
          topic: topics.commands,
          key: Buffer.from(device.deviceId),
          value: Buffer.from(JSON.stringify({ t, n: produced++, padding })),
        }
      })
      await producer.send({ messages })
      tick++
      const wait = begin + tick * tickMs - performance.now()
      if (wait > 0) await sleep(wait)
      else lateTicks++
    }
  })()

  await sleep(s.fanoutWarmupMs)
  const cpu = new CpuMeter({ bridge: bridge.pid, kafka: kafkaPid })
  const rssBefore = bridge.rss.peakMb
  cpu.start()
  measuring = true
  const producedBefore = produced
  const begin = performance.now()
  await sleep(s.windowMs)
  measuring = false
  const windowS = (performance.now() - begin) / 1000
  const usage = cpu.stop()
  const producedInWindow = produced - producedBefore
  producing = false
  await loop
  const failed = devices.filter((d) => d.failed)
  const l = sorted(lags)
  await bridge.stop()
  for (const d of devices) d.close()
  return {
    fanout_devices: s.fanoutDevices,
    fanout_records_per_s: round(delivered / windowS),
    fanout_produced_per_s: round(producedInWindow / windowS),
    fanout_lag_p50_ms: percentile(l, 50),
    fanout_lag_p99_ms: percentile(l, 99),
    bridge_cpu_pct: usage.bridge ?? null,
    bridge_rss_mb: bridge.rss.peakMb,
    bridge_rss_before_window_mb: rssBefore,
    fanout_cpu_pct: usage,
    fanout_connect_s: round(connectS, 1),
    fanout_late_ticks: lateTicks,
    fanout_devices_failed: failed.length,
    ...(failed[0] ? { fanout_first_failure: String(failed[0].failed) } : {}),
  }
}

/** A POST over the keep-alive agent: fetch's pool adds its own queueing to the figure. */
function httpPost(agent: Agent, url: string, body: string, token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

export async function reqreply(): Promise<BenchResult> {
  const td = new Teardown()
  try {
    const { brokers, pid } = await startKafka(td, 'reqreply')
    const a = await roundTrip(td, brokers, pid)
    log(`round trip: ${JSON.stringify(a)}`)
    const b = await fanoutPhase(td, brokers, pid)
    log(`fan-out: ${JSON.stringify(b)}`)
    return { benchmark: 'reqreply', ...a, ...b, target_p99_ms: reqreplyTargets.p99_ms }
  } finally {
    await td.run()
  }
}
