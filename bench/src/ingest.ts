// ingest: acked records/s of 50 devices through one bridge vs direct transactional
// producers on the same broker, ack latency at half that rate, bridge peak RSS.
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { defaultConfig } from '../../proxy-bridge/src/config.ts'
import { BenchDevice, type DeviceStats, frameKind, headerKind, RECORD_BYTES } from './devices.ts'
import { createTopicPair, runDirect, verifyExactlyOnce } from './direct.ts'
import type { BenchResult } from './report.ts'
import { benchTopics, deviceToken, startBridgeProcess } from './bridge-process.ts'
import { CpuMeter } from './meters.ts'
import { log, sleep, startKafka, Teardown, envNumber } from './stack.ts'
import { histogramBuckets, histogramQuantileMs, metricValue, percentile, round } from './stats.ts'

export const ingestSettings = {
  devices: envNumber('BENCH_DEVICES', 50),
  batch: 100,
  partitions: 6,
  // Phase 1's warm-up also finishes warming the broker on the bridge's own
  // paths (read_committed fetches, smaller transactions): its JIT compiled
  // for another ~15 CPU-seconds there after the direct warm-up.
  warmupMs: envNumber('BENCH_WARMUP_MS', 30_000),
  latencyWarmupMs: envNumber('BENCH_LATENCY_WARMUP_MS', 5000),
  /** The references run on a broker warm by then. */
  referenceWarmupMs: 5000,
  get devicesPerLane(): number {
    return Math.ceil(this.devices / this.lanes)
  },
  windowMs: envNumber('BENCH_WINDOW_MS', 20_000),
  latencyMs: envNumber('BENCH_LATENCY_MS', 15_000),
  kafkaWarmupMs: envNumber('BENCH_KAFKA_WARMUP_MS', 30_000),
  // The bridge's own (exactlyOnce.lanes, exactlyOnce.maxTxnRecords): the reference does the same Kafka work.
  lanes: defaultConfig.exactlyOnce.lanes,
  txnRecords: defaultConfig.exactlyOnce.maxTxnRecords,
}

export const ingestTargets = { ratio: 0.8, p99_ms: 50, bridge_rss_mb: 300 }

export async function ingest(): Promise<BenchResult> {
  const s = ingestSettings
  const td = new Teardown()
  try {
    const { brokers, pid: kafkaPid } = await startKafka(td, 'ingest')
    const prefix = `bench-${randomUUID().slice(0, 6)}`
    const topics = benchTopics(prefix)
    const bridge = await startBridgeProcess(td, {
      brokers,
      prefix,
      config: { kafka: { partitions: s.partitions } },
      cpuProf: process.env.BENCH_CPU_PROF === '1',
    })

    const stats: DeviceStats = { acked: 0, errors: new Map() }
    const devices: BenchDevice[] = []
    for (let i = 0; i < s.devices; i++) {
      const device = new BenchDevice(`bench-dev-${String(i).padStart(3, '0')}`, s.batch, stats)
      devices.push(device)
    }
    await Promise.all(devices.map(async (d) => d.connect(bridge.url, await deviceToken(d.deviceId))))
    td.add('devices', () => {
      for (const d of devices) d.close()
    })
    const limits = devices[0]?.welcome.limits
    log(`${devices.length} devices welcomed; credits ${JSON.stringify(limits?.credits)}, rate ${limits?.ratePerSec}/s`)

    // A fresh broker spends its first minutes under load compiling its hot
    // paths (the JIT: ~45 CPU-seconds here, 32 of them in the first minute):
    // measured then, the bridge would pay for it and the direct reference,
    // run later, would not. Both see a warm broker.
    if (s.kafkaWarmupMs > 0) {
      log(`warming Kafka up: direct transactional producers for ${s.kafkaWarmupMs} ms`)
      const warm = { records: `${prefix}.warmup.records`, state: `${prefix}.warmup.state` }
      await createTopicPair(brokers, warm.records, warm.state, s.partitions)
      await runDirect({
        brokers,
        producers: s.lanes,
        devicesPerProducer: s.devicesPerLane,
        recordsPerTxn: 500,
        recordsTopic: warm.records,
        stateTopic: warm.state,
        partitions: s.partitions,
        warmupMs: s.kafkaWarmupMs,
        windowMs: 0,
      })
    }

    // Phase 1: maximum rate, every device keeps its credit window full.
    log(`phase 1: max rate, warm-up ${s.warmupMs} ms, window ${s.windowMs} ms`)
    const cpu = new CpuMeter({ bridge: bridge.pid, kafka: kafkaPid })
    for (const d of devices) d.startMax()
    await sleep(s.warmupMs)
    const t0 = { at: performance.now(), acked: stats.acked }
    cpu.start()
    await sleep(s.windowMs)
    const t1 = { at: performance.now(), acked: stats.acked }
    const cpuMax = cpu.stop()
    const recordsPerS = (t1.acked - t0.acked) / ((t1.at - t0.at) / 1000)
    const rssMaxPhase = bridge.rss.peakMb
    log(
      `phase 1: ${Math.round(recordsPerS)} records/s acked; bridge peak RSS ${rssMaxPhase} MB; CPU % ${JSON.stringify(cpuMax)}; draining`,
    )
    await Promise.all(devices.map((d) => d.stop()))

    // Phase 2: half that rate, fixed schedule per device, latency of every frame.
    // BENCH_LATENCY_RATE fixes phase 2's total rate (records/s) for A/B experiments.
    const latencyRate = Number(process.env.BENCH_LATENCY_RATE ?? 0) || recordsPerS / 2
    const perDeviceRate = latencyRate / devices.length
    const intervalMs = (s.batch / perDeviceRate) * 1000
    log(
      `phase 2: ${Math.round(latencyRate)} records/s (a ${s.batch}-record frame per device every ${Math.round(intervalMs)} ms) for ${s.latencyMs} ms`,
    )
    devices.forEach((d, i) => {
      d.startRate(intervalMs, (i / devices.length) * intervalMs)
    })
    // Latencies count after a warm-up, as phase 1's rate does: the first
    // seconds after phase 1 still pay for its backlog (the broker's and the
    // bridge's garbage collection of the overload; queues draining), which
    // is not the latency at this rate.
    await sleep(Math.max(s.latencyWarmupMs, intervalMs))
    for (const d of devices) d.recordLatency = true
    const txnHistogram = 'kafka_edge_kafka_transaction_seconds'
    const before = await bridge.metrics()
    const txnBefore = histogramBuckets(before, txnHistogram)
    const txnCountBefore = metricValue(before, `${txnHistogram}_count`)
    // Stop-the-world time in the bridge: what a frame waits for besides Kafka.
    const gcSeconds = 'kafka_edge_bridge_nodejs_gc_duration_seconds_sum'
    const gcBefore = metricValue(before, gcSeconds)
    const p2 = { at: performance.now(), acked: stats.acked }
    cpu.start()
    await sleep(s.latencyMs)
    const p2end = { at: performance.now(), acked: stats.acked }
    const cpuHalf = cpu.stop()
    const p2metrics = await bridge.metrics()
    const txnAfter = histogramBuckets(p2metrics, txnHistogram)
    const halfRateTxns = metricValue(p2metrics, `${txnHistogram}_count`) - txnCountBefore
    const halfRateGcS = metricValue(p2metrics, gcSeconds) - gcBefore
    const halfRateLoopLagP99Ms = metricValue(p2metrics, 'kafka_edge_bridge_nodejs_eventloop_lag_p99_seconds') * 1000
    for (const d of devices) d.recordLatency = false
    await Promise.all(devices.map((d) => d.stop()))
    const acked = devices.flatMap((d) => d.acked)
    const latencies = acked.map((f) => f.latency).sort((a, b) => a - b)
    // BENCH_LATENCY_OUT: every phase-2 frame as [epoch ms of its ack, latency ms], to line stalls up with other logs.
    const latencyOut = process.env.BENCH_LATENCY_OUT
    if (latencyOut) {
      const frames = acked.map((f) => [round(performance.timeOrigin + f.at, 1), round(f.latency, 2)])
      writeFileSync(latencyOut, JSON.stringify(frames))
    }
    const late = devices.reduce((n, d) => n + d.late, 0)
    const halfRateAchieved = (p2end.acked - p2.acked) / ((p2end.at - p2.at) / 1000)
    log(
      `phase 2: ${latencies.length} frames, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${late} late`,
    )

    const metrics = await bridge.metrics()
    const ackedMetric = metricValue(metrics, 'kafka_edge_records_acked_total')
    const aborted = metricValue(metrics, 'kafka_edge_transactions_aborted_total')
    const txnCount = metricValue(metrics, 'kafka_edge_kafka_transaction_seconds_count')
    for (const d of devices) d.close()
    const failed = devices.filter((d) => d.failed)
    if (failed.length) log(`${failed.length} devices failed, first: ${failed[0]?.failed}`)

    log('stopping the bridge')
    await bridge.stop()
    const bridgeRss = bridge.rss.peakMb
    bridge.rss.stop()

    log('verifying Kafka holds exactly the acked records (read_committed)')
    const ackedByDevice = new Map(devices.map((d) => [d.deviceId, d.ackedSeq]))
    const verify = await verifyExactlyOnce(brokers, topics.records, ackedByDevice)
    for (const p of verify.problems.slice(0, 5)) log(`verify: ${p}`)

    // Reference: the same Kafka work without the bridge, on the same broker.
    const skipDirect = process.env.BENCH_SKIP_DIRECT === '1'
    const directRecords = `${prefix}.direct.records`
    const directState = `${prefix}.direct.state`
    await createTopicPair(brokers, directRecords, directState, s.partitions)
    log(
      `reference: ${s.lanes} direct transactional producers, ${s.txnRecords} records of ${s.devicesPerLane} devices + their state records per transaction`,
    )
    const none = { recordsPerS: Number.NaN, txns: 0, cpu: {} }
    const direct = skipDirect
      ? none
      : await runDirect({
          brokers,
          kafkaPid,
          producers: s.lanes,
          devicesPerProducer: s.devicesPerLane,
          recordsPerTxn: s.txnRecords,
          recordsTopic: directRecords,
          stateTopic: directState,
          partitions: s.partitions,
          warmupMs: s.referenceWarmupMs,
          windowMs: s.windowMs,
        })
    log(`reference: ${Math.round(direct.recordsPerS)} records/s; CPU % ${JSON.stringify(direct.cpu)}`)
    log(
      `orientation: ${s.devices} direct transactional producers (one per device), ${s.batch} records + 1 state record per transaction`,
    )
    const perDevice = skipDirect
      ? none
      : await runDirect({
          brokers,
          producers: s.devices,
          recordsPerTxn: s.batch,
          recordsTopic: directRecords,
          stateTopic: directState,
          partitions: s.partitions,
          warmupMs: s.referenceWarmupMs,
          windowMs: Math.min(s.windowMs, 15_000),
        })
    log(`orientation: one producer per device ${Math.round(perDevice.recordsPerS)} records/s`)

    const ratio = recordsPerS / direct.recordsPerS
    const result: BenchResult = {
      bench: 'ingest',
      records_per_s: Math.round(recordsPerS),
      direct_records_per_s: Math.round(direct.recordsPerS),
      ratio: round(ratio, 2),
      direct_per_device_producers_records_per_s: Math.round(perDevice.recordsPerS),
      p50_ms: round(percentile(latencies, 50), 1),
      p99_ms: round(percentile(latencies, 99), 1),
      bridge_rss_mb: bridgeRss,
      verified_exactly_once: verify.ok && failed.length === 0,
      latency_rate_records_per_s: Math.round(halfRateAchieved),
      latency_frames: latencies.length,
      latency_frames_late: late,
      acked_records: verify.expected,
      kafka_committed_records: verify.read,
      bridge_acked_metric: ackedMetric,
      bridge_transactions: txnCount,
      bridge_records_per_transaction: txnCount ? round(ackedMetric / txnCount, 1) : 0,
      bridge_transactions_aborted: aborted,
      device_errors: Object.fromEntries(stats.errors),
      half_rate_bridge_txn_p50_ms_le: histogramQuantileMs(txnBefore, txnAfter, 0.5),
      half_rate_bridge_txn_p99_ms_le: histogramQuantileMs(txnBefore, txnAfter, 0.99),
      half_rate_bridge_txns_per_s: round(halfRateTxns / ((p2end.at - p2.at) / 1000)),
      half_rate_bridge_gc_ms_per_s: round((halfRateGcS * 1000) / ((p2end.at - p2.at) / 1000), 1),
      half_rate_bridge_event_loop_lag_p99_ms: round(halfRateLoopLagP99Ms, 1),
      cpu_pct: { max_rate: cpuMax, half_rate: cpuHalf, direct: direct.cpu },
      targets: {
        ratio_min: ingestTargets.ratio,
        p99_ms_max: ingestTargets.p99_ms,
        bridge_rss_mb_max: ingestTargets.bridge_rss_mb,
      },
      pass:
        ratio >= ingestTargets.ratio &&
        percentile(latencies, 99) <= ingestTargets.p99_ms &&
        bridgeRss <= ingestTargets.bridge_rss_mb &&
        verify.ok,
      setup: {
        devices: s.devices,
        record_bytes: RECORD_BYTES,
        frames: frameKind,
        headers: headerKind,
        batch_records: s.batch,
        partitions: s.partitions,
        lanes: s.lanes,
        txn_records: s.txnRecords,
        kafka_warmup_s: s.kafkaWarmupMs / 1000,
        warmup_s: s.warmupMs / 1000,
        window_s: s.windowMs / 1000,
        latency_warmup_s: s.latencyWarmupMs / 1000,
        reference_warmup_s: s.referenceWarmupMs / 1000,
        latency_window_s: s.latencyMs / 1000,
        credits_records: limits?.credits.records ?? null,
        credits_bytes: limits?.credits.bytes ?? null,
        cores: (await import('node:os')).availableParallelism(),
        load_avg_1m_at_end: round((await import('node:os')).loadavg()[0] ?? 0, 1),
      },
    }
    return result
  } finally {
    await td.run()
  }
}
