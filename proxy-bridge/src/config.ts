import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

/** Topic names of SPEC's topology; every one is configurable. */
export interface TopicNames {
  records: string
  /** Replies of devices to requests (request/reply with correlation ids). */
  replies: string
  deviceState: string
  models: string
  modelChunks: string
  fleet: string
  commands: string
}

export interface AuthConfig {
  /** Shared secrets accepted for HS256 tokens (any one verifies). */
  hs256Secrets: string[]
  /** SPKI PEM public keys accepted for EdDSA (Ed25519) tokens. */
  eddsaPublicKeys: string[]
  issuer?: string
  audience?: string
  clockToleranceSec: number
  /** A socket without an Authorization header must send hello with a token within this time. */
  helloTimeoutMs: number
}

export interface LimitsConfig {
  maxBatchRecords: number
  maxFrameBytes: number
  maxRecordBytes: number
  creditRecords: number
  creditBytes: number
  ratePerSec: number
  burst: number
  heartbeatMs: number
  /** Bytes of admitted, unacked produce frames across all devices; over it, sockets are not read. */
  bridgeInflightBytes: number
}

export interface ExactlyOnceConfig {
  /** Transactional ids are `${prefix}-${bridgeId}-${lane}`: unique per bridge process. */
  transactionalIdPrefix: string
  /** Transactional producers per bridge, shared by its devices; a device always uses the same one. */
  lanes: number
  /** Records of queued frames (of any devices) committed in one transaction, at most. */
  maxTxnRecords: number
  /** Record value bytes committed in one transaction, at most (a larger single frame goes alone). */
  maxTxnBytes: number
  /** Least time between the starts of two transactions of a lane, unless a full one is queued; 0: back to back. */
  txnIntervalMs: number
  /** A bridge keeps its claim on a device this long after the device's last session ended. */
  claimIdleMs: number
  transactionTimeoutMs: number
  /** How long bridges remember a REST Idempotency-Key (and answer its retries from Kafka). */
  idempotencyTtlMs: number
}

export interface ModelsConfig {
  /**
   * Disk cache of verified model files, content-addressed by sha256 (so
   * bridges and clusters may share it safely); rebuilt from Kafka when empty.
   */
  cacheDir: string
  /** Manifest signing keys the bridge trusts: key id → SPKI PEM of an Ed25519 public key (or a path to one). */
  signingKeys: Record<string, string>
  /** Abort criteria for manifests that carry none (rollout.abort wins when present). */
  abort: { failureRatio: number; minDevices: number }
  /** Pause a rollout on its own when the abort criteria are met. */
  autoPause: boolean
  /** Longest `Prefer: wait=N` a manifest long poll may ask for, in seconds. */
  maxWaitSec: number
}

export interface DeliveryConfig {
  /** A device subscribing to a topic for the first time gets records from this far back. */
  lookbackMs: number
  /** Records delivered and not acked per subscription before the device is paused. */
  maxUnacked: number
  /** Acked positions are written to Kafka at most this often per device. */
  positionFlushMs: number
  /** Default wait of POST /v1/devices/{id}/requests for the reply. */
  requestTimeoutMs: number
  /** Replies kept for GET /v1/requests/{id}. */
  replyKeepMs: number
}

export interface BridgeConfig {
  host: string
  port: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  kafka: {
    brokers: string[]
    clientId: string
    /** Partitions for topics the bridge creates. */
    partitions: number
    /** Create missing topics at start with SPEC's cleanup policies. */
    createTopics: boolean
  }
  topics: TopicNames
  auth: AuthConfig
  limits: LimitsConfig
  exactlyOnce: ExactlyOnceConfig
  delivery: DeliveryConfig
  models: ModelsConfig
  /** Chaos tests only: crash the process (SIGKILL) around the n-th records transaction. Never set in production. */
  testFaults?: { crashOnTransaction: number; crashAt: 'before-commit' | 'after-commit' }
  /** Milliseconds between Kafka liveness probes that drive /readyz. */
  readinessIntervalMs: number
  /** Grace period for in-flight work on shutdown. */
  shutdownGraceMs: number
}

export const defaultTopics: TopicNames = {
  records: 'edge.records',
  replies: 'edge.replies',
  deviceState: 'edge.device-state',
  models: 'edge.models',
  modelChunks: 'edge.model-chunks',
  fleet: 'edge.fleet',
  commands: 'edge.commands',
}

export const defaultConfig: BridgeConfig = {
  host: '127.0.0.1',
  port: 8080,
  logLevel: 'info',
  kafka: { brokers: ['127.0.0.1:9092'], clientId: 'kafka-edge-bridge', partitions: 6, createTopics: true },
  topics: defaultTopics,
  auth: { hs256Secrets: [], eddsaPublicKeys: [], clockToleranceSec: 5, helloTimeoutMs: 10_000 },
  limits: {
    maxBatchRecords: 300,
    maxFrameBytes: 1024 * 1024,
    maxRecordBytes: 512 * 1024,
    // Enough in flight to keep the lanes' shared transactions full (a device's
    // frame is acked within a transaction or two); more only queues, and every
    // queued record is live memory in the bridge (ingest bench: 1000 unacked
    // records per device cost ~90 MB of peak RSS and no throughput).
    creditRecords: 300,
    creditBytes: 1024 * 1024,
    ratePerSec: 20_000,
    burst: 40_000,
    heartbeatMs: 15_000,
    bridgeInflightBytes: 64 * 1024 * 1024,
  },
  exactlyOnce: {
    transactionalIdPrefix: 'kafka-edge',
    // The broker's cost is per transaction: one lane halves the transactions
    // of two and keeps up with the bridge's maximum rate (architecture.md).
    lanes: 1,
    maxTxnRecords: 2000,
    maxTxnBytes: 768 * 1024,
    txnIntervalMs: 10,
    claimIdleMs: 60_000,
    transactionTimeoutMs: 30_000,
    idempotencyTtlMs: 3_600_000,
  },
  models: {
    cacheDir: join(tmpdir(), 'kafka-edge-bridge-models'),
    signingKeys: {},
    abort: { failureRatio: 0.2, minDevices: 10 },
    autoPause: true,
    maxWaitSec: 60,
  },
  delivery: {
    lookbackMs: 3_600_000,
    maxUnacked: 1000,
    positionFlushMs: 200,
    requestTimeoutMs: 10_000,
    replyKeepMs: 600_000,
  },
  readinessIntervalMs: 2000,
  shutdownGraceMs: 10_000,
}

export class ConfigError extends Error {
  readonly code = 'E_CONFIG'
  constructor(message: string) {
    super(`E_CONFIG: ${message}`)
  }
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K]
}
export type BridgeConfigInput = DeepPartial<BridgeConfig>

const logLevels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

function port(value: unknown, key: string): number {
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new ConfigError(`${key} must be a port number 0-65535, got ${JSON.stringify(value)}`)
  }
  return n
}

function positiveInt(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${key} must be a positive integer, got ${JSON.stringify(value)}`)
  }
  return value
}

function intBetween(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

/** Environment variables win over the file, the file over defaults. Documented in docs/configuration.md. */
export function configFromEnv(env: NodeJS.ProcessEnv): BridgeConfigInput {
  const input: BridgeConfigInput = {}
  if (env.BRIDGE_HOST) input.host = env.BRIDGE_HOST
  if (env.BRIDGE_PORT) input.port = port(env.BRIDGE_PORT, 'BRIDGE_PORT')
  if (env.BRIDGE_LOG_LEVEL) input.logLevel = env.BRIDGE_LOG_LEVEL as BridgeConfig['logLevel']
  if (env.BRIDGE_JWT_SECRETS) input.auth = { hs256Secrets: env.BRIDGE_JWT_SECRETS.split(',').filter(Boolean) }
  if (env.BRIDGE_JWT_PUBLIC_KEY_FILES) {
    input.auth = {
      ...input.auth,
      eddsaPublicKeys: env.BRIDGE_JWT_PUBLIC_KEY_FILES.split(',')
        .filter(Boolean)
        .map((file) => readKeyFile(file)),
    }
  }
  if (env.BRIDGE_MODELS_CACHE_DIR) input.models = { cacheDir: env.BRIDGE_MODELS_CACHE_DIR }
  if (env.BRIDGE_MODEL_KEYS_FILE) {
    input.models = { ...input.models, signingKeys: readSigningKeysFile(env.BRIDGE_MODEL_KEYS_FILE) }
  }
  if (env.KAFKA_BROKERS)
    input.kafka = {
      brokers: env.KAFKA_BROKERS.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    }
  return input
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read public key file ${path}: ${(error as Error).message}`)
  }
}

const isPem = (value: string) => value.includes('-----BEGIN')

/** A JSON file `{ "keyId": "<PEM, or a path to a PEM file relative to this file>" }`. */
export function readSigningKeysFile(path: string): Record<string, string> {
  let keys: unknown
  try {
    keys = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`cannot read model signing keys file ${path}: ${(error as Error).message}`)
  }
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new ConfigError(`model signing keys file ${path} must hold an object { keyId: PEM or PEM file }`)
  }
  const out: Record<string, string> = {}
  for (const [keyId, value] of Object.entries(keys)) {
    out[keyId] = typeof value === 'string' && !isPem(value) ? resolve(dirname(path), value) : String(value)
  }
  return out
}

/** Signing keys as PEM text, each checked to be an Ed25519 public key. */
function signingKeys(keys: unknown): Record<string, string> {
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new ConfigError('models.signingKeys must be an object { keyId: PEM or path to a PEM file }')
  }
  const out: Record<string, string> = {}
  for (const [keyId, value] of Object.entries(keys)) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(keyId)) {
      throw new ConfigError(`models.signingKeys.${keyId}: key ids are 1-64 of A-Z a-z 0-9 . _ - and values strings`)
    }
    const pem = isPem(value) ? value : readKeyFile(value)
    let type: string | undefined
    try {
      type = createPublicKey(pem).asymmetricKeyType
    } catch (error) {
      throw new ConfigError(`models.signingKeys.${keyId} is not a public key: ${(error as Error).message}`)
    }
    if (type !== 'ed25519') throw new ConfigError(`models.signingKeys.${keyId} is ${type}, expected ed25519`)
    out[keyId] = pem
  }
  return out
}

export function readConfigFile(path: string): BridgeConfigInput {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  try {
    return JSON.parse(text) as BridgeConfigInput
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
}

/** Merges layers over the defaults and validates the result once, at the boundary. */
export function resolveConfig(...layers: BridgeConfigInput[]): BridgeConfig {
  let config: BridgeConfig = structuredClone(defaultConfig)
  for (const layer of layers) {
    config = {
      ...config,
      ...layer,
      kafka: { ...config.kafka, ...layer.kafka },
      topics: { ...config.topics, ...layer.topics },
      auth: { ...config.auth, ...layer.auth },
      limits: { ...config.limits, ...layer.limits },
      exactlyOnce: { ...config.exactlyOnce, ...layer.exactlyOnce },
      delivery: { ...config.delivery, ...layer.delivery },
      models: {
        ...config.models,
        ...layer.models,
        abort: { ...config.models.abort, ...layer.models?.abort },
        signingKeys: { ...config.models.signingKeys, ...layer.models?.signingKeys },
      },
    } as BridgeConfig
  }
  config.port = port(config.port, 'port')
  if (!logLevels.has(config.logLevel)) throw new ConfigError(`logLevel must be one of ${[...logLevels].join(', ')}`)
  if (!Array.isArray(config.kafka.brokers) || config.kafka.brokers.length === 0) {
    throw new ConfigError('kafka.brokers must list at least one host:port (or set KAFKA_BROKERS)')
  }
  for (const broker of config.kafka.brokers) {
    if (!/^[^:\s]+:\d+$/.test(broker)) throw new ConfigError(`kafka.brokers entry "${broker}" is not host:port`)
  }
  positiveInt(config.kafka.partitions, 'kafka.partitions')
  positiveInt(config.readinessIntervalMs, 'readinessIntervalMs')
  for (const [key, value] of Object.entries(config.limits)) positiveInt(value, `limits.${key}`)
  for (const [key, value] of Object.entries(config.delivery)) positiveInt(value, `delivery.${key}`)
  positiveInt(config.exactlyOnce.maxTxnRecords, 'exactlyOnce.maxTxnRecords')
  positiveInt(config.exactlyOnce.lanes, 'exactlyOnce.lanes')
  positiveInt(config.exactlyOnce.maxTxnBytes, 'exactlyOnce.maxTxnBytes')
  // Longer, and every device's frames would wait that long between transactions.
  intBetween(config.exactlyOnce.txnIntervalMs, 'exactlyOnce.txnIntervalMs', 0, 60_000)
  positiveInt(config.exactlyOnce.claimIdleMs, 'exactlyOnce.claimIdleMs')
  positiveInt(config.exactlyOnce.transactionTimeoutMs, 'exactlyOnce.transactionTimeoutMs')
  positiveInt(config.exactlyOnce.idempotencyTtlMs, 'exactlyOnce.idempotencyTtlMs')
  const { limits } = config
  if (limits.burst < limits.maxBatchRecords || limits.creditRecords < limits.maxBatchRecords) {
    throw new ConfigError(
      'limits.burst and limits.creditRecords must each allow one full batch (limits.maxBatchRecords)',
    )
  }
  if (limits.creditBytes < limits.maxFrameBytes) {
    throw new ConfigError('limits.creditBytes must allow one full frame (limits.maxFrameBytes)')
  }
  if (config.limits.maxRecordBytes > config.limits.maxFrameBytes) {
    throw new ConfigError('limits.maxRecordBytes must not exceed limits.maxFrameBytes')
  }
  if (config.auth.hs256Secrets.some((s) => s.length < 32)) {
    throw new ConfigError('auth.hs256Secrets entries must be at least 32 characters (256 bits)')
  }
  config.models.signingKeys = signingKeys(config.models.signingKeys)
  if (typeof config.models.cacheDir !== 'string' || config.models.cacheDir === '') {
    throw new ConfigError('models.cacheDir must be a directory path')
  }
  config.models.cacheDir = resolve(config.models.cacheDir)
  const { failureRatio, minDevices } = config.models.abort
  if (typeof failureRatio !== 'number' || !(failureRatio > 0 && failureRatio <= 1)) {
    throw new ConfigError(`models.abort.failureRatio must be in (0, 1], got ${JSON.stringify(failureRatio)}`)
  }
  positiveInt(minDevices, 'models.abort.minDevices')
  positiveInt(config.models.maxWaitSec, 'models.maxWaitSec')
  for (const [key, name] of Object.entries(config.topics)) {
    if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(name)) {
      throw new ConfigError(`topics.${key} "${String(name)}" is not a valid Kafka topic name`)
    }
  }
  return config
}
