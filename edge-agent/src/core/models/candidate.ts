/**
 * From a manifest to a loaded, verified candidate: signature, expiry and
 * version checks, the highest version recorded, files downloaded (resumed)
 * and checked, the folder promoted into models/, a fresh session loaded
 * from disk and the golden vectors reproduced. Nothing here touches the
 * current model.
 */

import type { Engines } from '../engines/engine.ts'
import { AgentError, toAgentError } from '../errors.ts'
import type { Clock, Crypto, Downloader, ModelStore } from '../ports.ts'
import { type DownloadProgress, downloadFiles, type ModelSource } from './download.ts'
import { checkGoldenVectors } from './golden.ts'
import type { TrustedKeys } from './keys.ts'
import { LoadedModel } from './loaded.ts'
import type { ModelManifest } from './manifest.ts'
import { type ModelRef, modelDir, type Slots, type StoredModel } from './slots.ts'
import { verifyNotExpired, verifySignature, verifyVersion } from './verify.ts'

export interface CandidateContext {
  store: ModelStore
  crypto: Crypto
  downloader: Downloader
  clock: Clock
  slots: Slots
  engines: Engines
  keys: TrustedKeys
  modelName?: string | undefined
  /** The model serving now (bundled or installed). */
  current: ModelRef | undefined
  onProgress(progress: DownloadProgress): void
  signal?: AbortSignal | undefined
}

/** Checks that need no download; throws the refusal. Records the version as seen. */
export async function admitManifest(manifest: ModelManifest, ctx: CandidateContext): Promise<void> {
  if (ctx.modelName !== undefined && manifest.name !== ctx.modelName)
    throw new AgentError('E_MODEL_NAME', `offered "${manifest.name}", configured for "${ctx.modelName}"`)
  await verifySignature(manifest, ctx.keys, ctx.crypto)
  verifyNotExpired(manifest, ctx.clock.now())
  const state = await ctx.slots.readState()
  verifyVersion(manifest, { ...state, current: ctx.current })
  if ((state.highestSeen[manifest.name] ?? 0) < manifest.version) {
    state.highestSeen[manifest.name] = manifest.version
    await ctx.slots.writeState(state)
  }
}

/** Loads a stored model into a fresh session and reproduces its golden vectors. */
export async function loadVerified(
  stored: StoredModel,
  engines: Engines,
  origin: LoadedModel['origin'],
): Promise<LoadedModel> {
  const engine = await engines.get(stored.manifest.format)
  const session = await engine.load(stored.manifest, stored.files)
  try {
    await checkGoldenVectors(stored.manifest, session)
  } catch (e) {
    await session.dispose().catch(() => undefined)
    throw e
  }
  return new LoadedModel(stored.manifest, session, origin)
}

/**
 * Downloads (or resumes) an admitted candidate and loads it. Network
 * failures throw E_DOWNLOAD and keep the partial files; any other failure
 * throws the refusal after the candidate's files are discarded.
 */
export async function prepareCandidate(
  manifest: ModelManifest,
  source: ModelSource,
  ctx: CandidateContext,
): Promise<LoadedModel> {
  await ctx.slots.beginDownload(manifest, source)
  try {
    await downloadFiles(manifest, source, ctx)
  } catch (e) {
    const error = toAgentError(e, 'E_DOWNLOAD')
    if (error.code !== 'E_DOWNLOAD') await ctx.slots.discard(manifest)
    throw error
  }
  try {
    await ctx.slots.promoteDownload(manifest)
    return await loadVerified(await ctx.slots.readModel(modelDir(manifest)), ctx.engines, 'installed')
  } catch (e) {
    await ctx.slots.discard(manifest)
    throw toAgentError(e, 'E_STORE')
  }
}
