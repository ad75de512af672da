// npm run bench -- NAME   runs one benchmark; its JSON is stdout's last line.
// npm run bench           runs them all, one after the other, and writes bench/REPORT.md.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connections, connectionsTargets } from './connections.ts'
import { download, downloadTargets } from './download.ts'
import { fanout, fanoutTargets } from './fanout.ts'
import { inference, inferenceTargets } from './inference.ts'
import { ingest, ingestTargets } from './ingest.ts'
import { outbox, outboxTargets } from './outbox.ts'
import { type BenchResult, resultsDir, writeResult } from './report.ts'
import { reqreply, reqreplyTargets } from './reqreply.ts'
import { log, repoRoot } from './stack.ts'

const benchmarks: Record<string, () => Promise<BenchResult>> = {
  ingest,
  connections,
  fanout,
  download,
  inference,
  outbox,
  reqreply,
}

/** Targets of the other benchmarks: `max` keys must not be exceeded, the rest must be reached. */
const otherTargets: Record<string, { targets: Record<string, number>; max: string[] }> = {
  fanout: { targets: fanoutTargets, max: ['p100_ms'] },
  download: { targets: downloadTargets, max: [] },
  inference: { targets: inferenceTargets, max: ['cold_start_ms', 'web_to_native_ratio', 'rss_mb', 'bundle_kb_gz'] },
  outbox: { targets: outboxTargets, max: ['recovery_1m_ms'] },
  reqreply: { targets: reqreplyTargets, max: ['p99_ms'] },
}

function targetRows(name: string, result: BenchResult): string[] {
  const spec = otherTargets[name]
  if (!spec) return []
  const rows = [`## ${name}`, '', '| figure | value | target | |', '|---|---|---|---|']
  for (const [key, target] of Object.entries(spec.targets)) {
    // A figure the run could not give (null: e.g. sessions that never got the model) misses its target.
    const raw = result[key]
    const value = typeof raw === 'number' ? raw : Number.NaN
    const isMax = spec.max.includes(key)
    const pass = isMax ? value <= target : value >= target
    rows.push(
      `| \`${key}\` | ${fmt(result[key])} | ${isMax ? '<=' : '>='} ${fmt(target)} | ${pass ? 'met' : '**missed**'} |`,
    )
  }
  rows.push('')
  return rows
}

const usage = `Usage: npm run bench [-- NAME]

Benchmarks: ${Object.keys(benchmarks).join(', ')}. Without NAME all run and bench/REPORT.md is written;
NAME "report" rewrites bench/REPORT.md from the last bench/results/*.json without running anything.
Each starts Kafka (or uses KAFKA_BROKERS), a bridge child process and simulated devices,
stops them afterwards, writes bench/results/NAME.json and prints it as the last line.`

const fmt = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v))

/** The reference's shape, from the run's setup (the bridge's lanes and transaction size). */
function directProducers(ingest: BenchResult): string {
  const setup = (ingest.setup ?? {}) as { lanes?: number; txn_records?: number; devices?: number }
  if (!setup.lanes || !setup.txn_records || !setup.devices) return 'one transactional producer per bridge lane'
  const per = Math.ceil(setup.devices / setup.lanes)
  const producers = setup.lanes === 1 ? '1 transactional producer' : `${setup.lanes} transactional producers`
  return `${producers} (one per bridge lane), ${setup.txn_records}-record transactions of ${per} devices each`
}

/** CPU stolen by the hypervisor during the latency phase; undefined for runs from before it was measured. */
function halfRateSteal(ingest: BenchResult): number | undefined {
  return (ingest.cpu_pct as { half_rate?: { steal?: number } } | undefined)?.half_rate?.steal
}

/** `rewritten`: the results come from each benchmark's last run (`npm run bench -- report`), not from one run of them all. */
function reportMarkdown(results: Record<string, BenchResult>, rewritten = false): string {
  const i = results.ingest ?? {}
  const c = results.connections ?? {}
  const ok = (pass: boolean) => (pass ? 'met' : '**missed**')
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const lines = [
    '# Benchmark report',
    '',
    rewritten
      ? `Written ${now()} UTC by \`npm run bench -- report\` from each benchmark's last run (see bench/README.md).`
      : `Run ${now()} UTC with \`npm run bench\` (see bench/README.md).`,
    `Machine: ${availableParallelism()} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version},`,
    'one single-node Apache Kafka 4.1 (KRaft) on the same machine. Shared and noisy: expect ±15 % run to run,',
    rewritten
      ? 'more under other load.'
      : `more under other load (1-minute load average: ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end).`,
    '',
    '## ingest (50 devices, 200-byte JSON records, frames of 100, exactly-once)',
    '',
    '| figure | value | target | |',
    '|---|---|---|---|',
    `| acked records/s through the bridge (\`records_per_s\`) | ${fmt(i.records_per_s)} | | |`,
    `| direct: ${directProducers(i)}, the bridge's Kafka work (\`direct_records_per_s\`) | ${fmt(i.direct_records_per_s)} | | |`,
    `| \`ratio\` | ${fmt(i.ratio)} | >= ${ingestTargets.ratio} | ${ok(Number(i.ratio) >= ingestTargets.ratio)} |`,
    `| direct: one transactional producer per device, 100-record transactions (orientation) | ${fmt(i.direct_per_device_producers_records_per_s)} | | |`,
    `| ack latency p50 at half max rate (\`p50_ms\`) | ${fmt(i.p50_ms)} ms | | |`,
    `| ack latency p99 at half max rate (\`p99_ms\`) | ${fmt(i.p99_ms)} ms | <= ${ingestTargets.p99_ms} ms | ${ok(Number(i.p99_ms) <= ingestTargets.p99_ms)} |`,
    `| CPU the hypervisor gave other VMs meanwhile (\`cpu_pct.half_rate.steal\`, % of one core) | ${fmt(halfRateSteal(i) ?? 'not measured')} | | |`,
    `| bridge peak RSS (\`bridge_rss_mb\`) | ${fmt(i.bridge_rss_mb)} MB | <= ${ingestTargets.bridge_rss_mb} MB | ${ok(Number(i.bridge_rss_mb) <= ingestTargets.bridge_rss_mb)} |`,
    `| Kafka holds exactly the acked records (\`verified_exactly_once\`) | ${fmt(i.verified_exactly_once)} | true | ${ok(i.verified_exactly_once === true)} |`,
    '',
    '## connections (10,000 idle authenticated sessions with heartbeats)',
    '',
    '| figure | value | target | |',
    '|---|---|---|---|',
    `| sessions welcomed and still open after the hold (\`sessions\`) | ${fmt(c.sessions)} | ${fmt(connectionsTargets.sessions)} | ${ok(Number(c.sessions) >= connectionsTargets.sessions)} |`,
    `| bridge peak RSS (\`bridge_rss_mb\`) | ${fmt(c.bridge_rss_mb)} MB | <= ${connectionsTargets.bridge_rss_mb} MB | ${ok(Number(c.bridge_rss_mb) <= connectionsTargets.bridge_rss_mb)} |`,
    `| bare \`ws\` server, same sockets (\`bare_ws_rss_mb\`) | ${fmt(c.bare_ws_rss_mb)} MB | | |`,
    `| \`ratio\` (bridge / bare) | ${fmt(c.ratio)} | | |`,
    '',
    ...Object.entries(results).flatMap(([name, result]) => targetRows(name, result)),
    `Raw results: bench/results/*.json (git-ignored); the JSON lines of ${rewritten ? 'those runs' : 'this run'}:`,
    '',
    '```',
    ...Object.values(results).map((r) => JSON.stringify(r)),
    '```',
    '',
  ]
  return lines.join('\n')
}

const loadAtStart = loadavg()[0] ?? 0
const now = () => new Date().toISOString().slice(0, 16).replace('T', ' ')

async function main(argv: string[]): Promise<number> {
  const name = argv[0]
  if (name === '-h' || name === '--help') {
    console.log(usage)
    return 0
  }
  if (name === 'report') {
    // Rewrites REPORT.md from the results the benchmarks last wrote, without running them.
    const results: Record<string, BenchResult> = {}
    for (const key of Object.keys(benchmarks)) {
      const file = join(resultsDir, `${key}.json`)
      if (existsSync(file)) results[key] = JSON.parse(readFileSync(file, 'utf8')) as BenchResult
    }
    writeFileSync(join(repoRoot, 'bench', 'REPORT.md'), reportMarkdown(results, true))
    return 0
  }
  if (name) {
    const bench = benchmarks[name]
    if (!bench) {
      console.error(`unknown benchmark "${name}"\n\n${usage}`)
      return 2
    }
    writeResult(name, await bench())
    return 0
  }
  const results: Record<string, BenchResult> = {}
  for (const [key, bench] of Object.entries(benchmarks)) {
    log(`=== ${key} ===`)
    results[key] = await bench()
    writeResult(key, results[key])
  }
  const file = join(repoRoot, 'bench', 'REPORT.md')
  writeFileSync(file, reportMarkdown(results))
  log(`wrote ${file}`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
