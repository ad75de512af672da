/**
 * The `bridge` section of agent.json: where the bridge is, the device token,
 * the outbox, what is recorded, what is subscribed to and whether model
 * updates are taken. Parsed once at start; docs/agent.md lists every key.
 */

import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { type OverflowPolicy, outboxDefaults } from '../core/outbox/outbox.ts'
import { AgentError } from '../core/errors.ts'

export interface BridgeConfig {
  /** The bridge's base URL (http(s):// or ws(s)://). */
  url: string
  /** The device token: the configured text, or the token file read again at every call (rotation). */
  token: () => string
  outbox: { dir: string; capBytes: number; overflow: OverflowPolicy; ttlMs: number }
  /** Predictions the agent serves go to the outbox: on/off, their topic, which models. */
  records: { predictions: boolean; topic: string | undefined; models: string[] | undefined }
  /** Topics subscribed to after each welcome; [] subscribes to nothing. */
  commands: { topics: string[] }
  /** `model` frames from the bridge are installed and reported. */
  models: { updates: boolean; retrySeconds: number; filesUrl: string | undefined }
}

type Json = Record<string, unknown>

function section(o: Json, key: string, at: string): Json {
  const v = o[key]
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new AgentError('E_CONFIG', `"${at}" must be an object`)
  return v as Json
}

function only(o: Json, at: string, keys: string[]): void {
  const unknown = Object.keys(o).find((k) => !keys.includes(k))
  if (unknown !== undefined) throw new AgentError('E_CONFIG', `unknown key "${at}.${unknown}"`)
}

function str(o: Json, key: string, at: string): string | undefined {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw new AgentError('E_CONFIG', `"${at}" must be a non-empty string`)
  return v
}

function int(o: Json, key: string, at: string, fallback: number, min: number): number {
  const v = o[key]
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new AgentError('E_CONFIG', `"${at}" must be an integer of at least ${min}, not ${JSON.stringify(v)}`)
  return v
}

function bool(o: Json, key: string, at: string, fallback: boolean): boolean {
  const v = o[key]
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw new AgentError('E_CONFIG', `"${at}" must be true or false`)
  return v
}

function strings(o: Json, key: string, at: string): string[] | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === ''))
    throw new AgentError('E_CONFIG', `"${at}" must be an array of names`)
  return v as string[]
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/

/** Parses `bridge`; undefined when there is none (the agent then runs offline only). */
export function parseBridgeConfig(
  raw: unknown,
  baseDir: string,
  dataDir: string,
  env: Record<string, string | undefined> = {},
): BridgeConfig | undefined {
  if (raw === undefined || raw === null) {
    if (env.KAFKA_EDGE_AGENT_BRIDGE_URL === undefined) return undefined
    raw = {}
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new AgentError('E_CONFIG', '"bridge" must be an object')
  const o = raw as Json
  only(o, 'bridge', ['url', 'token', 'tokenFile', 'outbox', 'records', 'commands', 'models'])
  const url = env.KAFKA_EDGE_AGENT_BRIDGE_URL ?? str(o, 'url', 'bridge.url')
  if (url === undefined) throw new AgentError('E_CONFIG', '"bridge.url" is required')
  if (!/^(https?|wss?):\/\/[^/]/.test(url))
    throw new AgentError('E_CONFIG', `"bridge.url" must be an http(s):// or ws(s):// URL, not ${JSON.stringify(url)}`)

  const tokenText = env.KAFKA_EDGE_AGENT_TOKEN ?? str(o, 'token', 'bridge.token')
  const tokenFileSetting = env.KAFKA_EDGE_AGENT_TOKEN_FILE ?? str(o, 'tokenFile', 'bridge.tokenFile')
  let token: () => string
  if (tokenText !== undefined) token = () => tokenText
  else if (tokenFileSetting !== undefined) {
    const file = isAbsolute(tokenFileSetting) ? tokenFileSetting : resolve(baseDir, tokenFileSetting)
    token = () => {
      try {
        return readFileSync(file, 'utf8').trim()
      } catch (e) {
        throw new AgentError('E_CONFIG', `cannot read "bridge.tokenFile" ${file}: ${(e as Error).message}`)
      }
    }
    token() // A missing file is a configuration error at start, not a reconnect loop.
  } else throw new AgentError('E_CONFIG', '"bridge.token" or "bridge.tokenFile" is required')

  const outbox = section(o, 'outbox', 'bridge.outbox')
  only(outbox, 'bridge.outbox', ['dir', 'capBytes', 'overflow', 'ttlMs'])
  const overflow = outbox.overflow ?? outboxDefaults.overflow
  if (overflow !== 'reject' && overflow !== 'drop-oldest')
    throw new AgentError('E_CONFIG', '"bridge.outbox.overflow" must be "reject" or "drop-oldest"')
  const outboxDir = str(outbox, 'dir', 'bridge.outbox.dir')

  const records = section(o, 'records', 'bridge.records')
  only(records, 'bridge.records', ['predictions', 'topic', 'models'])
  const recordsTopic = str(records, 'topic', 'bridge.records.topic')
  if (recordsTopic !== undefined && !TOPIC.test(recordsTopic))
    throw new AgentError('E_CONFIG', `"bridge.records.topic" is not a topic name: ${recordsTopic}`)

  const commands = section(o, 'commands', 'bridge.commands')
  only(commands, 'bridge.commands', ['topics'])
  const topics = strings(commands, 'topics', 'bridge.commands.topics') ?? ['edge.commands']
  const badTopic = topics.find((t) => !TOPIC.test(t))
  if (badTopic !== undefined)
    throw new AgentError('E_CONFIG', `"bridge.commands.topics" holds a bad topic name: ${badTopic}`)

  const models = section(o, 'models', 'bridge.models')
  only(models, 'bridge.models', ['updates', 'retrySeconds', 'filesUrl'])

  return {
    url,
    token,
    outbox: {
      dir: outboxDir === undefined ? resolve(dataDir, 'outbox') : resolve(baseDir, outboxDir),
      capBytes: int(outbox, 'capBytes', 'bridge.outbox.capBytes', outboxDefaults.capBytes, 1 << 20),
      overflow,
      ttlMs: int(outbox, 'ttlMs', 'bridge.outbox.ttlMs', outboxDefaults.ttlMs, 0),
    },
    records: {
      predictions: bool(records, 'predictions', 'bridge.records.predictions', true),
      topic: recordsTopic,
      models: strings(records, 'models', 'bridge.records.models'),
    },
    commands: { topics },
    models: {
      updates: bool(models, 'updates', 'bridge.models.updates', true),
      retrySeconds: int(models, 'retrySeconds', 'bridge.models.retrySeconds', 15, 1),
      filesUrl: str(models, 'filesUrl', 'bridge.models.filesUrl'),
    },
  }
}
