// Starts what a benchmark needs (Kafka, child processes) and tears it all
// down again, also when the run fails or is interrupted.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { externalBrokers, startBroker } from '@kafka-edge/dev-kafka'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Logs, configs and CPU profiles of bench runs (git-ignored). */
export const workDir = join(repoRoot, '.cache', 'bench')

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
