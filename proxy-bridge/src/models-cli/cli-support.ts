import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import {
  type BridgeConfig,
  type BridgeConfigInput,
  ConfigError,
  configFromEnv,
  readConfigFile,
  readSigningKeysFile,
  resolveConfig,
} from '../config.ts'
import { BridgeError } from '../errors.ts'
import { FleetView } from '../models/fleet.ts'
import type { ModelState } from '../models/model-state.ts'
import { ModelRegistry } from '../models/registry.ts'
import type { StateWriterOptions } from '../models/state-writer.ts'

/** Exit codes of kafka-edge-models; docs/models.md lists them. */
export const ExitCodes = { OK: 0, FAILURE: 1, USAGE: 2, REFUSED: 3, NOT_FOUND: 4 } as const

export class UsageError extends Error {}

/** Refusals a script can act on get exit code 3; unknown models and versions 4. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return ExitCodes.USAGE
  if (String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) return ExitCodes.USAGE
  if (error instanceof BridgeError) {
    if (error.code === ErrorCodes.MODEL_UNKNOWN) return ExitCodes.NOT_FOUND
    if (error.code === ErrorCodes.KAFKA_UNAVAILABLE || error.code === ErrorCodes.INTERNAL) return ExitCodes.FAILURE
    return ExitCodes.REFUSED
  }
  return ExitCodes.FAILURE
}

/** Options every command that talks to Kafka takes. */
export const commonOptions = {
  brokers: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'trusted-key': { type: 'string', multiple: true },
  'trusted-keys': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export const commonHelp = `Common options:
  -c, --config FILE         bridge config file: brokers, topic names, models.signingKeys
      --brokers LIST        Kafka bootstrap brokers host:port[,...] (env KAFKA_BROKERS)
      --trusted-key ID=FILE trust this Ed25519 public key (SPKI PEM) for key id ID; repeatable
      --trusted-keys FILE   JSON { "keyId": "PEM or path" } (env BRIDGE_MODEL_KEYS_FILE)
  -h, --help                this text`

export interface CommonValues {
  brokers?: string | undefined
  config?: string | undefined
  'trusted-key'?: string[] | undefined
  'trusted-keys'?: string | undefined
}

/** The same configuration the bridge would use: file, then environment, then flags. */
export function cliConfig(values: CommonValues, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  const flags: BridgeConfigInput = {}
  if (values.brokers) flags.kafka = { brokers: values.brokers.split(',').map((b) => b.trim()) }
  const signingKeys: Record<string, string> = {}
  if (values['trusted-keys']) Object.assign(signingKeys, readSigningKeysFile(values['trusted-keys']))
  for (const pair of values['trusted-key'] ?? []) {
    const at = pair.indexOf('=')
    if (at < 1) throw new UsageError(`--trusted-key takes ID=FILE, got "${pair}"`)
    signingKeys[pair.slice(0, at)] = pair.slice(at + 1)
  }
  if (Object.keys(signingKeys).length > 0) flags.models = { signingKeys }
  return resolveConfig(values.config ? readConfigFile(values.config) : {}, configFromEnv(env), flags)
}

/** Every model state on edge.models, read to its end. */
export async function readStates(config: BridgeConfig): Promise<Map<string, ModelState>> {
  const registry = new ModelRegistry({
    brokers: config.kafka.brokers,
    clientId: 'kafka-edge-models',
    topic: config.topics.models,
    keys: undefined,
  })
  try {
    await registry.start(30_000)
    return new Map(registry.all().map((s) => [s.name, s]))
  } catch (error) {
    throw new BridgeError(
      ErrorCodes.KAFKA_UNAVAILABLE,
      `cannot read ${config.topics.models}: ${(error as Error).message}`,
    )
  } finally {
    await registry.close().catch(() => {})
  }
}

export async function readFleet(config: BridgeConfig): Promise<FleetView> {
  const fleet = new FleetView(config.kafka.brokers, 'kafka-edge-models', config.topics.fleet)
  try {
    await fleet.start()
  } finally {
    await fleet.close().catch(() => {})
  }
  return fleet
}

export function writerOptions(config: BridgeConfig): StateWriterOptions {
  return {
    brokers: config.kafka.brokers,
    clientId: 'kafka-edge-models',
    modelsTopic: config.topics.models,
    read: async (name) => (await readStates(config)).get(name),
  }
}

export function unknownModel(name: string): BridgeError {
  return new BridgeError(ErrorCodes.MODEL_UNKNOWN, `no model named "${name}" is published on this cluster`)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
