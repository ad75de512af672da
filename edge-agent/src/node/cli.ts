/**
 * kafka-edge-agent: run the agent with its local HTTP API, predict with a
 * model folder, list the models on disk. Every failure is a JSON error with
 * a code on stderr and a documented exit code; nothing crashes.
 */

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Agent, AgentEvents } from '../core/agent.ts'
import { bundledModel } from '../core/bundled-model.ts'
import { AgentError, type AgentErrorCode, toAgentError } from '../core/errors.ts'
import { Engines } from '../core/engines/engine.ts'
import { loadVerified } from '../core/models/candidate.ts'
import { parseTrustedKeys } from '../core/models/keys.ts'
import { Slots } from '../core/models/slots.ts'
import { verifySignature } from '../core/models/verify.ts'
import { createNodeAgent } from './agent.ts'
import { bridgeAuthorization } from '../core/link/bridge-authorization.ts'
import { type BridgeLink, startBridgeLink } from './bridge-link.ts'
import { type AgentConfig, loadConfig } from './config.ts'
import { nodeCrypto } from './crypto.ts'
import { startHttpApi } from './http-api.ts'
import { defaultThreads, nodeOnnxWasm } from './onnx-wasm.ts'
import { NodeModelStore } from './store.ts'

const HELP = `Usage: kafka-edge-agent <command> [options]

Commands:
  run --config FILE [--port N] [--data-dir DIR]
      Boot the model from disk (offline), serve the local HTTP API
      (POST /predict, GET /healthz, GET /models, POST /models/install,
      GET /link) and install updates from "updates.manifestUrl" when
      configured. With a "bridge" section: predictions go to a durable
      outbox drained into Kafka through the bridge, commands and requests
      (built in: predict) come back, and model updates pushed by the bridge
      are installed and reported. Events are printed to stdout as JSON
      lines. SIGINT/SIGTERM stop it gracefully.
  predict --model DIR --input JSON|@FILE|- [--key ID=PEMFILE]
      Check a model folder (manifest.json, sizes, sha256, golden vectors,
      the signature too when --key is given) and print one prediction.
  models (--config FILE | --data-dir DIR)
      Print the current, previous and pending models and the version history.

Options:
  -h, --help     this help            --version    the agent's version

Exit codes:
  0 success              3 bad input (E_INPUT_*, E_FEATURE_*, E_JSON)
  1 internal error       4 model refused or unusable (E_MANIFEST_*, E_SHA256_MISMATCH, E_NO_MODEL, ...)
  2 usage or config      5 storage, network or port failure (E_STORE, E_DOWNLOAD, E_CONFIG on listen)

Configuration keys, the HTTP API and error codes: docs/agent.md.`

const VERSION = '0.1.0'

function exitCodeFor(code: AgentErrorCode): number {
  if (code === 'E_USAGE' || code === 'E_CONFIG') return 2
  if (code.startsWith('E_INPUT') || code.startsWith('E_FEATURE') || code === 'E_JSON' || code === 'E_PAYLOAD_TOO_LARGE')
    return 3
  if (code === 'E_STORE' || code === 'E_DOWNLOAD') return 5
  if (code === 'E_INTERNAL') return 1
  return 4
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

function readInput(text: string): unknown {
  let source = text
  try {
    if (text === '-') source = readFileSync(0, 'utf8')
    else if (text.startsWith('@')) source = readFileSync(text.slice(1), 'utf8')
  } catch (e) {
    throw new AgentError('E_USAGE', `cannot read --input ${text}: ${(e as Error).message}`)
  }
  try {
    return JSON.parse(source)
  } catch (e) {
    throw new AgentError('E_JSON', `--input is not JSON (${(e as Error).message})`)
  }
}

async function predictCommand(values: Record<string, unknown>): Promise<void> {
  if (typeof values.model !== 'string' || typeof values.input !== 'string')
    throw new AgentError('E_USAGE', 'predict needs --model DIR and --input JSON')
  const input = readInput(values.input)
  const slots = new Slots(new NodeModelStore(resolve(values.model)), nodeCrypto)
  const stored = await slots.readModel('')
  const keys = values.key as string[] | undefined
  if (keys !== undefined && keys.length > 0) {
    const pairs = keys.map((k) => {
      const [id, file] = k.split('=', 2)
      if (!id || !file) throw new AgentError('E_USAGE', `--key ${k}: expected ID=PEMFILE`)
      return [id, readFileSync(file, 'utf8')]
    })
    await verifySignature(stored.manifest, parseTrustedKeys(Object.fromEntries(pairs)), nodeCrypto)
  }
  const model = await loadVerified(
    stored,
    new Engines({ threads: defaultThreads(), onnxWasm: nodeOnnxWasm }),
    'installed',
  )
  const started = performance.now()
  const outputs = await model.predict(input)
  print({ outputs, model: model.ref, latencyMs: performance.now() - started })
  model.retire()
}

async function modelsCommand(values: Record<string, unknown>): Promise<void> {
  let dataDir: string
  if (typeof values.config === 'string') dataDir = loadConfig(values.config, process.env).dataDir
  else if (typeof values['data-dir'] === 'string') dataDir = resolve(values['data-dir'])
  else throw new AgentError('E_USAGE', 'models needs --config FILE or --data-dir DIR')
  const store = new NodeModelStore(dataDir)
  const slots = new Slots(store, nodeCrypto)
  const state = await slots.readState()
  const pending = await slots.pendingDownloads()
  const onDisk: string[] = []
  for (const name of await store.list('models'))
    for (const version of await store.list(`models/${name}`)) onDisk.push(`${name}@${version}`)
  const bundled = (await bundledModel()).manifest
  print({
    dataDir,
    current: state.current ?? { name: bundled.name, version: bundled.version, origin: 'bundled' },
    previous: state.previous,
    probation: state.probation,
    highestSeen: state.highestSeen,
    refused: state.refused,
    onDisk,
    pendingDownloads: pending.map((p) => `${p.manifest.name}@${p.manifest.version}`),
  })
}

const LOGGED_EVENTS: (keyof AgentEvents)[] = [
  'booted',
  'activated',
  'rejected',
  'rolled-back',
  'probation-passed',
  'download-failed',
  'download-progress',
  'shadow',
]

async function runCommand(values: Record<string, unknown>): Promise<void> {
  if (typeof values.config !== 'string') throw new AgentError('E_USAGE', 'run needs --config FILE')
  const config: AgentConfig = loadConfig(values.config, process.env, {
    dataDir: values['data-dir'] as string | undefined,
    port: values.port as string | undefined,
  })
  const bridgeConfig = config.bridge
  const agent: Agent = await createNodeAgent({
    downloadHeaders: bridgeConfig ? bridgeAuthorization(bridgeConfig.url, bridgeConfig.token) : undefined,
    dataDir: config.dataDir,
    publicKeys: config.publicKeys,
    threads: config.threads,
    modelName: config.model.name,
    probation: config.probation,
    shadow: config.shadow.enabled ? config.shadow : undefined,
  })
  for (const event of LOGGED_EVENTS) agent.on(event, (payload) => print({ event, ...payload }))
  await agent.start()
  // The outbox opens before any prediction is served, so none goes unrecorded.
  let bridge: BridgeLink | undefined
  if (bridgeConfig !== undefined) {
    try {
      bridge = await startBridgeLink(agent, bridgeConfig, {
        shadow: config.shadow.enabled,
        agentVersion: VERSION,
        log: (event, payload) => print({ event, ...payload }),
      })
    } catch (e) {
      await agent.close()
      throw e instanceof AgentError ? e : new AgentError('E_STORE', `cannot open the outbox: ${(e as Error).message}`)
    }
  }
  let api: Awaited<ReturnType<typeof startHttpApi>>
  try {
    api = await startHttpApi(agent, { ...config.http, shadow: config.shadow.enabled, link: bridge?.status })
  } catch (e) {
    await bridge?.close()
    await agent.close()
    throw new AgentError('E_STORE', `cannot listen on ${config.http.host}:${config.http.port}: ${(e as Error).message}`)
  }
  print({
    event: 'listening',
    url: api.url,
    dataDir: config.dataDir,
    ...(bridgeConfig ? { bridge: bridgeConfig.url, outbox: bridgeConfig.outbox.dir } : {}),
  })

  let timer: ReturnType<typeof setTimeout> | undefined
  const updates = config.updates
  const poll = async () => {
    await agent.resumeDownloads()
    if (updates !== undefined) {
      const source = updates.filesUrl
        ? { manifestUrl: updates.manifestUrl, filesUrl: updates.filesUrl }
        : { manifestUrl: updates.manifestUrl }
      await agent.install(source, { shadow: config.shadow.enabled })
      timer = setTimeout(() => void poll(), updates.intervalSeconds * 1000)
    }
  }
  void poll()

  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  clearTimeout(timer)
  await api.close()
  await bridge?.close()
  await agent.close()
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        config: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        model: { type: 'string' },
        input: { type: 'string' },
        key: { type: 'string', multiple: true },
      },
    })
    const command = positionals[0]
    if (values.help || command === 'help') {
      process.stdout.write(`${HELP}\n`)
      return 0
    }
    if (values.version) {
      process.stdout.write(`${VERSION}\n`)
      return 0
    }
    if (command === 'run') await runCommand(values)
    else if (command === 'predict') await predictCommand(values)
    else if (command === 'models') await modelsCommand(values)
    else throw new AgentError('E_USAGE', command === undefined ? 'no command given' : `unknown command "${command}"`)
    return 0
  } catch (e) {
    const error =
      e instanceof AgentError
        ? e
        : (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
          ? new AgentError('E_USAGE', (e as Error).message)
          : toAgentError(e)
    process.stderr.write(`${JSON.stringify({ error: error.toJSON() })}\n`)
    return exitCodeFor(error.code)
  }
}
