import { randomUUID } from 'node:crypto'
import {
  type Bridge,
  type BridgeConfigInput,
  resolveConfig,
  startBridge,
  type TopicNames,
} from '@kafka-edge/proxy-bridge'
import { SignJWT } from 'jose'
import { brokers, deleteTopics } from './kafka.ts'

export const testSecret = 'kafka-edge-test-secret-0123456789abcdef'

/** Topic names of SPEC's topology, unique to one test file. */
export function isolatedTopics(): TopicNames {
  const id = randomUUID().slice(0, 8)
  return {
    records: `it-${id}.records`,
    deviceState: `it-${id}.device-state`,
    models: `it-${id}.models`,
    modelChunks: `it-${id}.model-chunks`,
    fleet: `it-${id}.fleet`,
    commands: `it-${id}.commands`,
    replies: `it-${id}.replies`,
  }
}

export interface TokenOptions {
  groups?: string[]
  topics?: string[]
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number
  secret?: string
}

export async function deviceToken(deviceId: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ groups: options.groups ?? [], topics: options.topics ?? [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(deviceId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? testSecret))
}

/** The config of an in-process test bridge on a free port. */
export function bridgeConfig(topics: TopicNames, overrides: BridgeConfigInput = {}): BridgeConfigInput {
  return {
    ...overrides,
    port: 0,
    logLevel: overrides.logLevel ?? 'warn',
    kafka: { brokers: brokers(), partitions: 3, ...overrides.kafka },
    topics,
    auth: { hs256Secrets: [testSecret], ...overrides.auth },
  }
}

export async function startTestBridge(topics: TopicNames, overrides: BridgeConfigInput = {}): Promise<Bridge> {
  return startBridge(resolveConfig(bridgeConfig(topics, overrides)))
}

export async function dropTopics(topics: TopicNames): Promise<void> {
  await deleteTopics(Object.values(topics)).catch(() => {})
}

/** A label-less metric's value from the bridge's /metrics (0 when absent). */
export async function metric(bridge: { url: string }, name: string): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : 0
}
