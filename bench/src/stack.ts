// Starts what a benchmark needs (Kafka, a bridge child process) and tears it
// all down again, also when the run fails or is interrupted.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { externalBrokers, freePort, startBroker } from '@kafka-edge/dev-kafka'
import { SignJWT } from 'jose'
import { BRIDGE_NODE_FLAGS, buildBridge } from '../../proxy-bridge/scripts/build.ts'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Logs, configs and CPU profiles of bench runs (git-ignored). */
export const workDir = join(repoRoot, '.cache', 'bench')
const benchSecret = 'kafka-edge-bench-secret-0123456789abcdef'

const started = Date.now()

/** Progress goes to stderr: stdout's last line is the result JSON. */
export function log(message: string): void {
  process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`)
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Calls `probe` every 250 ms until it returns a value (not undefined); throws after timeoutMs. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`)
    await sleep(250)
  }
}

/** A numeric setting from the environment (BENCH_*), else the default. */
export const envNumber = (name: string, fallback: number) => Number(process.env[name] ?? fallback)

/** Cleanup steps, run last-in first-out exactly once: at the end, on failure, on SIGINT/SIGTERM. */
export class Teardown {
  readonly #steps: { name: string; fn: () => Promise<void> | void }[] = []
  #running: Promise<void> | undefined
  readonly #onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping everything this run started`)
    void this.run().finally(() => process.exit(130))
  }

  constructor() {
    process.once('SIGINT', this.#onSignal)
    process.once('SIGTERM', this.#onSignal)
  }

  add(name: string, fn: () => Promise<void> | void): void {
    this.#steps.push({ name, fn })
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      process.off('SIGINT', this.#onSignal)
      process.off('SIGTERM', this.#onSignal)
      for (const step of this.#steps.reverse()) {
        try {
          await step.fn()
        } catch (error) {
          log(`teardown ${step.name} failed: ${(error as Error).message}`)
        }
      }
      this.#steps.length = 0
    })()
    return this.#running
  }
}

/** KAFKA_BROKERS when set, else a fresh project-provisioned broker stopped at teardown. */
export async function startKafka(td: Teardown, name: string): Promise<{ brokers: string[]; pid?: number }> {
  const external = externalBrokers()
  if (external) {
    log(`using KAFKA_BROKERS=${external.join(',')}`)
    // BENCH_KAFKA_PID names that broker's process, so its CPU is measured too.
    const pid = Number(process.env.BENCH_KAFKA_PID) || undefined
    return pid ? { brokers: external, pid } : { brokers: external }
  }
  log('starting Kafka (fresh instance)')
  const broker = await startBroker({ name: `bench-${name}`, port: 0, fresh: true, heapMb: 1024, log })
  td.add('kafka', async () => {
    log('stopping Kafka')
    await broker.stop()
  })
  return { brokers: [broker.bootstrap], pid: broker.pid }
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone or unknown. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** CPU use of several processes over an interval, in % of one core each. */
export class CpuMeter {
  readonly #pids: Record<string, number | undefined>
  #start: { at: number; cpu: Record<string, number> } | undefined

  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids
  }

  #now(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, pid] of Object.entries(this.#pids)) out[name] = cpuSeconds(pid)
    out.self = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6
    return out
  }

  start(): void {
    this.#start = { at: performance.now(), cpu: this.#now() }
  }

  /** % of one core per process since start(); "self" is this benchmark process (load generator or reference). */
  stop(): Record<string, number> {
    const start = this.#start
    if (!start) throw new Error('CpuMeter.stop before start')
    const seconds = (performance.now() - start.at) / 1000
    const end = this.#now()
    const out: Record<string, number> = {}
    for (const [name, cpu] of Object.entries(end)) out[name] = round((100 * (cpu - (start.cpu[name] ?? 0))) / seconds)
    return out
  }
}

/** Peak resident set size of a process, sampled from /proc/<pid>/status. */
export class RssSampler {
  peakKb = 0
  lastKb = 0
  readonly #timer: NodeJS.Timeout
  readonly #pid: number

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid
    this.sample()
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  sample(): number {
    try {
      const status = readFileSync(`/proc/${this.#pid}/status`, 'utf8')
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
      this.lastKb = kb
      if (kb > this.peakKb) this.peakKb = kb
    } catch {
      // The process is gone.
    }
    return this.lastKb
  }

  get peakMb(): number {
    return round(this.peakKb / 1024, 1)
  }

  get lastMb(): number {
    return round(this.lastKb / 1024, 1)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export interface Child {
  process: ChildProcess
  pid: number
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Spawns `node args` with the soft fd limit raised to the hard one (sockets
 * need one each); `exec` keeps the pid that of node itself, so RSS is its own.
 */
export function spawnNode(
  td: Teardown,
  name: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile?: string; stdin?: boolean; stdout?: 'pipe' | 'log' } = {},
): Child {
  mkdirSync(workDir, { recursive: true })
  const logFile = options.logFile ?? join(workDir, `${name}.log`)
  const out = openSync(logFile, 'w')
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout === 'pipe' ? 'pipe' : out, out],
    },
  )
  if (child.pid === undefined) throw new Error(`could not start ${name}`)
  const pid = child.pid
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let exitCode: number | null | undefined
  void exited.then((code) => {
    exitCode = code
  })
  const stop = async (graceMs = 15_000) => {
    if (exitCode !== undefined) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  td.add(name, () => stop())
  return { process: child, pid, exited, stop }
}

export interface BridgeProcess extends Child {
  url: string
  /** The config file it was started with; `kafka-edge-models --config` reads the topics from it. */
  configFile: string
  rss: RssSampler
  metrics(): Promise<string>
}

export interface BridgeOptions {
  brokers: string[]
  prefix: string
  /** Merged into the bridge's config file (limits, exactlyOnce, ...). */
  config?: Record<string, unknown>
  /** Writes a V8 CPU profile of the bridge to .cache/bench/prof at exit (BENCH_CPU_PROF=1). */
  cpuProf?: boolean
}

export function benchTopics(prefix: string) {
  return {
    records: `${prefix}.records`,
    deviceState: `${prefix}.device-state`,
    models: `${prefix}.models`,
    modelChunks: `${prefix}.model-chunks`,
    fleet: `${prefix}.fleet`,
    commands: `${prefix}.commands`,
    replies: `${prefix}.replies`,
  }
}

/**
 * The bridge as it runs in production: built (proxy-bridge/dist/kafka-edge-bridge.mjs)
 * and run with its V8 flags, as a child process waited on until /readyz is 200.
 */
export async function startBridgeProcess(td: Teardown, options: BridgeOptions): Promise<BridgeProcess> {
  mkdirSync(workDir, { recursive: true })
  const port = await freePort()
  const configFile = join(workDir, `${options.prefix}-bridge.json`)
  // BENCH_BRIDGE_CONFIG (JSON) overrides sections of the config for experiments, e.g. '{"limits":{"creditRecords":1000}}'.
  const config: Record<string, unknown> = { topics: benchTopics(options.prefix), logLevel: 'warn', ...options.config }
  const extra = JSON.parse(process.env.BENCH_BRIDGE_CONFIG ?? '{}') as Record<string, unknown>
  for (const [key, value] of Object.entries(extra)) {
    const base = config[key]
    config[key] = base && typeof base === 'object' && value && typeof value === 'object' ? { ...base, ...value } : value
  }
  writeFileSync(configFile, JSON.stringify(config, null, 2))
  // BENCH_BRIDGE_NODE_ARGS: node flags for the bridge only (A/B of V8 settings), after the shipped ones.
  const nodeArgs: string[] = [
    ...BRIDGE_NODE_FLAGS,
    ...(process.env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ]
  if (options.cpuProf) {
    const profDir = join(workDir, 'prof')
    mkdirSync(profDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`)
    log(`bridge CPU profile goes to ${profDir}`)
  }
  const child = spawnNode(
    td,
    `${options.prefix}-bridge`,
    [
      ...nodeArgs,
      // BENCH_BRIDGE_DIR builds and runs another copy of proxy-bridge (A/B of a proposed change).
      await buildBridge(resolve(repoRoot, process.env.BENCH_BRIDGE_DIR ?? 'proxy-bridge')),
      '--config',
      configFile,
      '--port',
      String(port),
    ],
    {
      env: {
        KAFKA_BROKERS: options.brokers.join(','),
        BRIDGE_JWT_SECRETS: benchSecret,
        BRIDGE_LOG_LEVEL: 'warn',
        BRIDGE_HOST: '127.0.0.1',
      },
    },
  )
  const url = `http://127.0.0.1:${port}`
  const rss = new RssSampler(child.pid)
  td.add('rss sampler', () => rss.stop())
  let exited = false
  void child.exited.then(() => {
    exited = true
  })
  await pollUntil(
    async () => {
      if (exited) throw new Error(`bridge exited at start; see ${join(workDir, `${options.prefix}-bridge.log`)}`)
      const res = await fetch(`${url}/readyz`).catch(() => undefined) // undefined: not listening yet
      return res?.status === 200 ? true : undefined
    },
    90_000,
    'bridge ready',
  )
  log(`bridge ready at ${url} (pid ${child.pid}, rss ${(rss.sample() / 1024) | 0} MB)`)
  return { ...child, url, configFile, rss, metrics: () => fetch(`${url}/metrics`).then((r) => r.text()) }
}

/** Value of an unlabelled Prometheus sample, or of the sum of its labelled series. */
export function metricValue(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop())
  }
  return sum
}

/** An hour's token the bench bridges accept; `groups: ['operators']` makes it an operator's. */
export async function deviceToken(deviceId: string, groups: string[] = []): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ groups, topics: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(deviceId)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(benchSecret))
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

/** Cumulative buckets of a Prometheus histogram: upper bound (s) → count. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue
    const le = /le="([^"]+)"/.exec(line)?.[1]
    if (le === undefined) continue
    out.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(line.split(' ').pop()))
  }
  return out
}

/** Upper bucket bound (ms) under which fraction p of the observations between two snapshots fall. */
export function histogramQuantileMs(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b)
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0)
  if (total <= 0) return Number.NaN
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= p * total) return le * 1000
  }
  return Number.POSITIVE_INFINITY
}
