import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { log4jProperties, serverProperties } from './broker-config.ts'
import { launcherErrors } from './errors.ts'
import { instanceDir } from './paths.ts'
import { freePort } from './ports.ts'
import { brokerAnswers, waitForBroker } from './readiness.ts'
import { commandExists, ensureJars } from './resolve-jars.ts'

export interface StartOptions {
  /** Instance name: its config, data and logs live under .cache/kafka/instances/<name>. */
  name?: string
  /** Broker port; 0 or absent picks a free one. */
  port?: number
  /** Keep the broker running after this process exits (the `kafka start` CLI). */
  detached?: boolean
  /** Delete the instance's data before starting (tests want a clean broker). */
  fresh?: boolean
  heapMb?: number
  readyTimeoutMs?: number
  log?: (line: string) => void
}

export interface BrokerState {
  name: string
  pid: number
  port: number
  controllerPort: number
  bootstrap: string
  startedAt: string
}

export interface RunningBroker extends BrokerState {
  /** True when this call started the JVM; false when it found one of ours already running. */
  started: boolean
  logFile: string
  stop(): Promise<void>
}

const stateFile = (dir: string) => join(dir, 'state.json')

export function logFileOf(name: string): string {
  return join(instanceDir(name), 'logs', 'server.log')
}

/** Whether a process with this pid is alive (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export function readState(name: string): BrokerState | undefined {
  const file = stateFile(instanceDir(name))
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BrokerState
  } catch {
    return undefined
  }
}

/** The instance's broker if its JVM is alive and answers the Kafka protocol. */
export async function runningBroker(name: string): Promise<BrokerState | undefined> {
  const state = readState(name)
  if (!state || !pidAlive(state.pid)) return undefined
  return (await brokerAnswers([state.bootstrap])) ? state : undefined
}

/** Deletes a stopped instance's config, data and logs (throwaway test instances). */
export function removeInstance(name: string): void {
  rmSync(instanceDir(name), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
}

export async function stopBroker(name: string, pid?: number, graceMs = 15_000): Promise<boolean> {
  const target = pid ?? readState(name)?.pid
  if (!target || !pidAlive(target)) {
    rmSync(stateFile(instanceDir(name)), { force: true })
    return false
  }
  process.kill(target, 'SIGTERM')
  const until = Date.now() + graceMs
  while (pidAlive(target) && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
  if (pidAlive(target)) process.kill(target, 'SIGKILL')
  rmSync(stateFile(instanceDir(name)), { force: true })
  return true
}

export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const name = options.name ?? 'default'
  const log = options.log ?? (() => {})
  const dir = instanceDir(name)
  const logFile = logFileOf(name)

  const existing = await runningBroker(name)
  if (existing) {
    log(`reusing Kafka ${existing.bootstrap} (pid ${existing.pid}, instance "${name}")`)
    return { ...existing, started: false, logFile, stop: async () => {} }
  }

  if (!commandExists('java')) throw launcherErrors.javaMissing()
  const libs = ensureJars(log)

  const dataDir = join(dir, 'data')
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true })
  mkdirSync(join(dir, 'logs'), { recursive: true })

  const port = options.port || (await freePort())
  const controllerPort = await freePort()
  const propsFile = join(dir, 'server.properties')
  writeFileSync(propsFile, serverProperties({ port, controllerPort }, dataDir))
  writeFileSync(join(dir, 'log4j2.properties'), log4jProperties())

  const classpath = join(libs, '*')
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = newClusterId()
    const format = spawnSync(
      'java',
      ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile],
      {
        encoding: 'utf8',
      },
    )
    if (format.status !== 0) throw launcherErrors.brokerExited(format.status, `${format.stdout}${format.stderr}`.trim())
  }

  const heap = options.heapMb ?? 512
  const out = openSync(join(dir, 'logs', 'stdout.log'), 'a')
  const child = spawn(
    'java',
    [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      // Under load ~400 KB of each young collection's survivors live for
      // minutes, and G1 copied them again at every age up to 15: most of a
      // young pause (10-28 ms every ~2.5 s at 98,000 records/s). Promoted
      // after one copy instead, the pauses' Object Copy fell from ~7 to ~3 ms
      // (p50) and the pauses from 13.5-14.4 to 10.6 ms (p50; p90 20-21 to 14-15).
      '-XX:MaxTenuringThreshold=1',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${join(dir, 'logs')}`,
      `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      propsFile,
    ],
    { stdio: ['ignore', out, out], detached: options.detached ?? false },
  )
  if (options.detached) child.unref()
  const pid = child.pid
  if (pid === undefined) throw launcherErrors.brokerExited(null, logFile)

  let exitCode: number | null | undefined
  child.once('exit', (code) => {
    exitCode = code
  })

  const bootstrap = `127.0.0.1:${port}`
  const ready = await waitForBroker([bootstrap], options.readyTimeoutMs ?? 90_000, () => exitCode === undefined)
  if (!ready) {
    if (exitCode !== undefined) throw launcherErrors.brokerExited(exitCode, logFile)
    await stopBroker(name, pid)
    throw launcherErrors.brokerNotReady(bootstrap, options.readyTimeoutMs ?? 90_000, logFile)
  }

  const state: BrokerState = { name, pid, port, controllerPort, bootstrap, startedAt: new Date().toISOString() }
  writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`)
  log(`Kafka ${bootstrap} ready (pid ${pid}, instance "${name}", logs ${logFile})`)
  return { ...state, started: true, logFile, stop: () => stopBroker(name, pid).then(() => {}) }
}

/**
 * A cluster id as Kafka makes them (base64url of 16 random bytes), never
 * starting with '-': StorageTool's argument parser would take that for an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}
