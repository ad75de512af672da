import type { SignedModelManifest } from '@kafka-edge/models/manifest'

// The value of one model's record on the compacted edge.models topic: its
// whole state, so compaction (which keeps only the newest record per name)
// keeps everything a bridge needs. docs/models.md explains each field.

export type RolloutStateName = 'rolling' | 'paused' | 'aborted' | 'complete'

export interface Rollout {
  version: number
  /** Share of devices (by cohort hash) that get `version`, 0-100. */
  percent: number
  /** Devices whose token lists one of these groups get `version` whatever their hash. */
  groups: string[]
  state: RolloutStateName
  reason?: string
  /** ms since the epoch of the last change. */
  updatedAt: number
}

export interface ModelState {
  v: 1
  name: string
  /** The newest version ever published, also after its manifest was dropped: publish refuses anything not above it. */
  latest: number
  /** Manifests of the newest versions (at most `keepVersions`, and always stable's and the rollout's). */
  versions: Record<string, SignedModelManifest>
  /** Bytes per chunk on edge.model-chunks for each version kept. */
  chunkBytes: number
  stable: number | null
  rollout: Rollout | null
}

/** Chunk size on edge.model-chunks: well under Kafka's default 1 MB message limit. */
export const CHUNK_BYTES = 512 * 1024
/** Manifests a model state keeps; older ones (and their chunks) are dropped. */
export const KEEP_VERSIONS = 5
/** Keep a state record well under Kafka's default 1 MB message limit. */
const MAX_STATE_BYTES = 900 * 1024

export function emptyState(name: string): ModelState {
  return { v: 1, name, latest: 0, versions: {}, chunkBytes: CHUNK_BYTES, stable: null, rollout: null }
}

export function encodeModelState(state: ModelState): Buffer {
  return Buffer.from(JSON.stringify(state), 'utf8')
}

/** The state in a record value, or undefined for a tombstone or anything not a state. */
export function decodeModelState(value: Buffer | null | undefined): ModelState | undefined {
  if (!value || value.length === 0) return undefined
  try {
    const state = JSON.parse(value.toString('utf8')) as ModelState
    if (state.v !== 1 || typeof state.name !== 'string' || typeof state.versions !== 'object') return undefined
    return state
  } catch {
    return undefined
  }
}

export function manifestOf(state: ModelState, version: number | null | undefined): SignedModelManifest | undefined {
  return version == null ? undefined : state.versions[String(version)]
}

/** Versions kept, newest first. */
export function keptVersions(state: ModelState): number[] {
  return Object.keys(state.versions)
    .map(Number)
    .sort((a, b) => b - a)
}

/** Returns the versions dropped, so their chunks can be deleted too. */
function prune(state: ModelState): number[] {
  const pinned = new Set([state.stable, state.rollout?.version])
  const dropped: number[] = []
  const candidates = keptVersions(state).reverse() // oldest first
  const size = () => encodeModelState(state).length
  for (const version of candidates) {
    const tooMany = Object.keys(state.versions).length > KEEP_VERSIONS
    if (!tooMany && size() <= MAX_STATE_BYTES) break
    if (pinned.has(version)) continue
    delete state.versions[String(version)]
    dropped.push(version)
  }
  return dropped
}

function rolloutOf(version: number, percent: number, groups: string[], now: number, reason?: string): Rollout {
  const state: RolloutStateName = percent >= 100 ? 'complete' : 'rolling'
  return { version, percent, groups, state, updatedAt: now, ...(reason ? { reason } : {}) }
}

/** A new version: it starts rolling out by its manifest's rollout policy. */
export function withPublished(
  previous: ModelState,
  manifest: SignedModelManifest,
  policy: { percent?: number | undefined; groups?: string[] | undefined } = {},
  now = Date.now(),
): { state: ModelState; dropped: number[] } {
  const state: ModelState = structuredClone(previous)
  state.versions[String(manifest.version)] = manifest
  state.latest = Math.max(state.latest, manifest.version)
  state.chunkBytes = CHUNK_BYTES
  const percent = clampPercent(policy.percent ?? manifest.rollout?.percent ?? 100)
  state.rollout = rolloutOf(manifest.version, percent, policy.groups ?? manifest.rollout?.groups ?? [], now)
  if (state.rollout.state === 'complete') state.stable = manifest.version
  return { state, dropped: prune(state) }
}

export function withPromoted(previous: ModelState, version: number, percent: number, now = Date.now()): ModelState {
  const state: ModelState = structuredClone(previous)
  const groups =
    state.rollout?.version === version ? state.rollout.groups : (manifestOf(state, version)?.rollout?.groups ?? [])
  state.rollout = rolloutOf(version, clampPercent(percent), groups, now)
  if (state.rollout.state === 'complete') state.stable = version
  return state
}

export function withRolloutState(
  previous: ModelState,
  next: 'paused' | 'aborted',
  reason: string | undefined,
  now = Date.now(),
): ModelState {
  const state: ModelState = structuredClone(previous)
  if (!state.rollout) return state
  state.rollout = { ...state.rollout, state: next, updatedAt: now }
  if (reason) state.rollout.reason = reason
  else delete state.rollout.reason
  return state
}

function clampPercent(percent: number): number {
  return Math.min(100, Math.max(0, percent))
}

// Keys of edge.model-chunks: name/version/path/index. Names hold no '/', the
// index is the last segment, so a path may hold '/' itself.

export function chunkKey(name: string, version: number, path: string, index: number): string {
  return `${name}/${version}/${path}/${index}`
}

export interface ChunkKey {
  name: string
  version: number
  path: string
  index: number
}

export function parseChunkKey(key: string): ChunkKey | undefined {
  const parts = key.split('/')
  if (parts.length < 4) return undefined
  const name = parts[0] as string
  const version = Number(parts[1])
  const index = Number(parts[parts.length - 1])
  const path = parts.slice(2, -1).join('/')
  if (!Number.isSafeInteger(version) || version < 1 || !Number.isSafeInteger(index) || index < 0) return undefined
  return { name, version, path, index }
}

export function chunkCount(size: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(size / chunkBytes))
}

/** Strong ETag of a version's manifest; the signature already covers every byte of it. */
export function manifestEtag(manifest: SignedModelManifest): string {
  return `"${manifest.name}-${manifest.version}-${manifest.signature.value.slice(0, 16)}"`
}

export function manifestUrl(name: string): string {
  return `/v1/models/${encodeURIComponent(name)}/manifest`
}
