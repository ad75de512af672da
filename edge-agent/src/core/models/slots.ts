/**
 * The model slots on disk, through the ModelStore:
 *
 *   state.json                    current and previous model, highest version seen per name, refused versions
 *   models/<name>/<version>/      verified models: manifest.json and the files beside it
 *   downloads/<name>/<version>/   a candidate being downloaded (manifest.json first, then its files)
 *
 * A candidate becomes a model by one atomic folder rename once every file is
 * complete and flushed; it becomes current by one atomic write of
 * state.json. A power cut between any two steps leaves state.json naming
 * complete folders, so the device always boots a loadable model.
 */

import { AgentError } from '../errors.ts'
import type { Crypto, ModelStore } from '../ports.ts'
import { type ModelManifest, modelId, parseManifest } from './manifest.ts'
import { verifyFile } from './verify.ts'

export interface ModelRef {
  name: string
  version: number
}

export interface SlotState {
  current: ModelRef | null
  previous: ModelRef | null
  highestSeen: Record<string, number>
  refused: string[]
  /** The current model while its probation window is open (resumed after a restart). */
  probation: ModelRef | null
}

export interface StoredModel {
  manifest: ModelManifest
  files: Map<string, Uint8Array>
}

const STATE = 'state.json'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const emptyState = (): SlotState => ({
  current: null,
  previous: null,
  highestSeen: {},
  refused: [],
  probation: null,
})

function isRef(v: unknown): v is ModelRef {
  const r = v as ModelRef | null
  return typeof r?.name === 'string' && Number.isSafeInteger(r.version)
}

export const modelDir = (ref: ModelRef): string => `models/${ref.name}/${ref.version}`
export const downloadDir = (ref: ModelRef): string => `downloads/${ref.name}/${ref.version}`

export class Slots {
  constructor(
    private readonly store: ModelStore,
    private readonly crypto: Crypto,
  ) {}

  /** The persisted state; a missing or unreadable state.json is an empty one. */
  async readState(): Promise<SlotState> {
    const bytes = await this.store.read(STATE)
    if (bytes === undefined) return emptyState()
    try {
      const s = JSON.parse(decoder.decode(bytes)) as Partial<SlotState>
      return {
        current: isRef(s.current) ? s.current : null,
        previous: isRef(s.previous) ? s.previous : null,
        highestSeen: typeof s.highestSeen === 'object' && s.highestSeen !== null ? s.highestSeen : {},
        refused: Array.isArray(s.refused) ? s.refused.filter((r) => typeof r === 'string') : [],
        probation: isRef(s.probation) ? s.probation : null,
      }
    } catch {
      return emptyState()
    }
  }

  /** The commit point of every swap and rollback: one atomic replace. */
  writeState(state: SlotState): Promise<void> {
    return this.store.write(STATE, encoder.encode(`${JSON.stringify(state, null, 2)}\n`))
  }

  /** Reads a model folder and checks every file against its manifest. Throws the reason it is unusable. */
  async readModel(dir: string): Promise<StoredModel> {
    const prefix = dir === '' ? '' : `${dir}/`
    const text = await this.store.read(`${prefix}manifest.json`)
    if (text === undefined)
      throw new AgentError('E_MANIFEST_MISSING', `no manifest.json in ${dir || 'the model directory'}`)
    const manifest = parseManifest(decoder.decode(text))
    const files = new Map<string, Uint8Array>()
    for (const file of manifest.files) {
      const bytes = await this.store.read(`${prefix}${file.path}`)
      if (bytes === undefined) throw new AgentError('E_FILE_MISSING', `${modelId(manifest)}: ${file.path} is missing`)
      await verifyFile(manifest, file.path, bytes, this.crypto)
      files.set(file.path, bytes)
    }
    return { manifest, files }
  }

  /** Starts (or continues) a candidate download folder with its manifest. */
  async beginDownload(manifest: ModelManifest, source: unknown): Promise<void> {
    const dir = downloadDir(manifest)
    await this.store.write(`${dir}/source.json`, encoder.encode(JSON.stringify(source)))
    await this.store.write(`${dir}/manifest.json`, encoder.encode(JSON.stringify(manifest)))
  }

  /** Downloads left unfinished (by a crash or a lost network), with where they came from. */
  async pendingDownloads(): Promise<{ manifest: ModelManifest; source: unknown }[]> {
    const found: { manifest: ModelManifest; source: unknown }[] = []
    for (const name of await this.store.list('downloads')) {
      for (const version of await this.store.list(`downloads/${name}`)) {
        const bytes = await this.store.read(`downloads/${name}/${version}/manifest.json`)
        const source = await this.store.read(`downloads/${name}/${version}/source.json`)
        try {
          if (bytes !== undefined && source !== undefined)
            found.push({ manifest: parseManifest(decoder.decode(bytes)), source: JSON.parse(decoder.decode(source)) })
        } catch {
          // An unreadable leftover is removed by the next collect().
        }
      }
    }
    return found
  }

  /** Moves a complete, verified download into models/ (one atomic rename). */
  async promoteDownload(ref: ModelRef): Promise<void> {
    await this.store.remove(modelDir(ref))
    await this.store.rename(downloadDir(ref), modelDir(ref))
  }

  async discard(ref: ModelRef): Promise<void> {
    await this.store.remove(downloadDir(ref))
    await this.store.remove(modelDir(ref))
  }

  /** Removes model folders the state no longer names, and downloads other than `keepDownloads`. */
  async collect(state: SlotState, keepDownloads: ModelRef[] = []): Promise<void> {
    const keep = new Set([state.current, state.previous].filter(isRef).map(modelDir))
    const keepDl = new Set(keepDownloads.map(downloadDir))
    try {
      for (const [root, kept] of [
        ['models', keep],
        ['downloads', keepDl],
      ] as const) {
        for (const name of await this.store.list(root)) {
          const versions = await this.store.list(`${root}/${name}`)
          for (const version of versions) {
            const dir = `${root}/${name}/${version}`
            if (!kept.has(dir)) await this.store.remove(dir)
          }
          if ((await this.store.list(`${root}/${name}`)).length === 0) await this.store.remove(`${root}/${name}`)
        }
      }
    } catch {
      // Collection frees space; failing to do so must not fail a swap.
    }
  }
}
