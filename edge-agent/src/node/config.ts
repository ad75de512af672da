/**
 * agent.json, parsed and validated once at start (docs/agent.md lists every
 * key and default). Environment variables override the file, flags override
 * both. A bad value is an E_CONFIG naming the key.
 */

import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { ShadowOptions } from '../core/agent.ts'
import { AgentError } from '../core/errors.ts'
import { parseTrustedKeys, type TrustedKeys } from '../core/models/keys.ts'
import type { ProbationLimits } from '../core/models/probation.ts'
import { type BridgeConfig, parseBridgeConfig } from './bridge-config.ts'

export interface AgentConfig {
  dataDir: string
  http: { host: string; port: number; maxBodyBytes: number }
  publicKeys: TrustedKeys
  threads: number | undefined
  model: { name: string | undefined }
  probation: Partial<ProbationLimits>
  shadow: ShadowOptions & { enabled: boolean }
  updates: { manifestUrl: string; filesUrl: string | undefined; intervalSeconds: number } | undefined
  /** The outbox and the link to the bridge; undefined: offline only. */
  bridge: BridgeConfig | undefined
}

type Json = Record<string, unknown>

function section(o: Json, key: string): Json {
  const v = o[key]
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new AgentError('E_CONFIG', `"${key}" must be an object`)
  return v as Json
}

function num(o: Json, key: string, at: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key]
  if (v === undefined) return fallback
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max)
    throw new AgentError('E_CONFIG', `"${at}" must be a number from ${min} to ${max}, not ${JSON.stringify(v)}`)
  return n
}

function optStr(o: Json, key: string, at: string): string | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw new AgentError('E_CONFIG', `"${at}" must be a non-empty string`)
  return v
}

function readKey(keyId: string, value: unknown, baseDir: string): string {
  if (typeof value !== 'string') throw new AgentError('E_CONFIG', `"publicKeys.${keyId}" must be a string`)
  if (value.includes('-----BEGIN') || /^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return value
  const path = isAbsolute(value) ? value : resolve(baseDir, value)
  try {
    return readFileSync(path, 'utf8')
  } catch {
    throw new AgentError('E_CONFIG', `"publicKeys.${keyId}": cannot read ${path}`)
  }
}

export interface ConfigOverrides {
  dataDir?: string | undefined
  port?: string | undefined
}

/** Parses a config object; relative paths resolve against `baseDir` (the config file's folder). */
export function parseConfig(
  raw: unknown,
  baseDir: string,
  env: Record<string, string | undefined> = {},
  flags: ConfigOverrides = {},
): AgentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AgentError('E_CONFIG', 'the configuration must be a JSON object')
  const o = raw as Json
  const known = new Set([
    'dataDir',
    'http',
    'publicKeys',
    'threads',
    'model',
    'probation',
    'shadow',
    'updates',
    'bridge',
    '$schema',
  ])
  const unknown = Object.keys(o).filter((k) => !known.has(k))
  if (unknown.length > 0) throw new AgentError('E_CONFIG', `unknown key "${unknown[0]}"`)
  const http = section(o, 'http')
  const port = flags.port ?? env.KAFKA_EDGE_AGENT_PORT
  const dataDir = flags.dataDir ?? env.KAFKA_EDGE_AGENT_DATA_DIR ?? optStr(o, 'dataDir', 'dataDir') ?? 'agent-data'
  const keys = section(o, 'publicKeys')
  const shadow = section(o, 'shadow')
  const probation = section(o, 'probation')
  const updates = section(o, 'updates')
  const manifestUrl = optStr(updates, 'manifestUrl', 'updates.manifestUrl')
  const threads = o.threads === undefined || o.threads === null ? undefined : num(o, 'threads', 'threads', 1, 1, 64)
  const limits: Partial<ProbationLimits> = {}
  if (probation.predictions !== undefined)
    limits.predictions = num(probation, 'predictions', 'probation.predictions', 50, 1)
  if (probation.seconds !== undefined) limits.seconds = num(probation, 'seconds', 'probation.seconds', 60, 0)
  let publicKeys: TrustedKeys
  try {
    publicKeys = parseTrustedKeys(
      Object.fromEntries(Object.entries(keys).map(([id, v]) => [id, readKey(id, v, baseDir)])),
    )
  } catch (e) {
    throw e instanceof AgentError ? e : new AgentError('E_CONFIG', (e as Error).message)
  }
  const dataPath = resolve(baseDir, dataDir)
  return {
    dataDir: dataPath,
    http: {
      host: optStr(http, 'host', 'http.host') ?? '127.0.0.1',
      port:
        port !== undefined
          ? num({ port }, 'port', 'http.port', 8700, 0, 65535)
          : num(http, 'port', 'http.port', 8700, 0, 65535),
      maxBodyBytes: num(http, 'maxBodyBytes', 'http.maxBodyBytes', 1 << 20, 1024),
    },
    publicKeys,
    threads,
    model: { name: optStr(section(o, 'model'), 'name', 'model.name') },
    probation: limits,
    shadow: {
      enabled: shadow.enabled === true,
      sampleRate: num(shadow, 'sampleRate', 'shadow.sampleRate', 0.1, 0, 1),
      samples: num(shadow, 'samples', 'shadow.samples', 200, 1),
      minAgreement: num(shadow, 'minAgreement', 'shadow.minAgreement', 0.95, 0, 1),
      tolerance: num(shadow, 'tolerance', 'shadow.tolerance', 0.01, 0),
    },
    updates:
      manifestUrl === undefined
        ? undefined
        : {
            manifestUrl,
            filesUrl: optStr(updates, 'filesUrl', 'updates.filesUrl'),
            intervalSeconds: num(updates, 'intervalSeconds', 'updates.intervalSeconds', 300, 1),
          },
    bridge: parseBridgeConfig(o.bridge, baseDir, dataPath, env),
  }
}

export function loadConfig(
  path: string,
  env: Record<string, string | undefined>,
  flags: ConfigOverrides = {},
): AgentConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new AgentError('E_CONFIG', `cannot read the configuration file ${path}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new AgentError('E_CONFIG', `${path} is not JSON (${(e as Error).message})`)
  }
  return parseConfig(raw, dirname(resolve(path)), env, flags)
}
