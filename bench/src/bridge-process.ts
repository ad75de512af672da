// The bridge as a benchmark runs it (built, as a child process), and the
// tokens its devices present.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort } from '@kafka-edge/dev-kafka'
import { SignJWT } from 'jose'
import { BRIDGE_NODE_FLAGS, buildBridge } from '../../proxy-bridge/scripts/build.ts'
import { RssSampler } from './meters.ts'
import { type Child, log, pollUntil, repoRoot, spawnNode, type Teardown, workDir } from './stack.ts'

const benchSecret = 'kafka-edge-bench-secret-0123456789abcdef'

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
