/**
 * The agent: boots a model from disk alone, serves predictions, and takes a
 * candidate through verification, activation, probation and rollback, or
 * through shadow mode first. Runtime specifics come in through ports.
 */

import { Engines } from './engines/engine.ts'
import { AgentError, type AgentErrorCode, toAgentError } from './errors.ts'
import { admitManifest, type CandidateContext, loadVerified, prepareCandidate } from './models/candidate.ts'
import { bootModel, type BootSource, type Failure } from './models/boot.ts'
import { type DownloadProgress, fetchManifest, type ModelSource } from './models/download.ts'
import type { TrustedKeys } from './models/keys.ts'
import type { LoadedModel } from './models/loaded.ts'
import { type ModelManifest, modelId } from './models/manifest.ts'
import type { NamedOutputs } from './models/outputs.ts'
import { Probation, type ProbationLimits } from './models/probation.ts'
import { type ShadowOptions, type ShadowReport, ShadowTrial } from './models/shadow.ts'
import { type ModelRef, modelDir, Slots, type SlotState, type StoredModel } from './models/slots.ts'
import { Emitter } from './outbox/emitter.ts'
import type { Clock, Crypto, Downloader, EnginePorts, ModelStore } from './ports.ts'

export type { ShadowOptions } from './models/shadow.ts'

export interface AgentOptions {
  store: ModelStore
  crypto: Crypto
  downloader: Downloader
  clock: Clock
  engines: EnginePorts
  publicKeys: TrustedKeys
  /** The model shipped with the agent, the last fallback of an offline boot. */
  bundledModel?: () => Promise<StoredModel>
  /** Refuse candidates of other model names. */
  modelName?: string
  /** Overrides the manifest's rollout.probation. */
  probation?: Partial<ProbationLimits>
  shadow?: ShadowOptions
  random?: () => number
}

export interface PredictionResult {
  outputs: NamedOutputs
  model: ModelRef
  latencyMs: number
}

export type Outcome =
  | { outcome: 'activated' | 'shadow' | 'unchanged'; model: ModelRef }
  | { outcome: 'rejected' | 'download-failed'; model?: ModelRef; code: AgentErrorCode; message: string }

export interface AgentEvents {
  booted: { model: ModelRef | null; source: BootSource; fallbacks: Failure[] }
  /** Every served prediction: the outbox subscribes here (recordPredictions). */
  prediction: { input: unknown; result: PredictionResult }
  'download-progress': DownloadProgress
  'download-failed': Failure
  activated: { name: string; version: number; previous: ModelRef | null }
  rejected: Failure
  'rolled-back': Failure & { to: ModelRef }
  'probation-passed': { name: string; version: number; predictions: number }
  shadow: ShadowReport
}

const DEFAULT_PROBATION: ProbationLimits = { predictions: 50, seconds: 60 }

export class Agent extends Emitter<AgentEvents> {
  readonly #slots: Slots
  readonly #engines: Engines
  #current: LoadedModel | undefined
  /** The model a probation would roll back to, kept loaded for an instant switch. */
  #fallback: LoadedModel | undefined
  #probation: Probation | undefined
  #probationTimer: ReturnType<typeof setTimeout> | undefined
  #shadow: ShadowTrial | undefined
  #installing: Promise<Outcome> | undefined
  #rollingBack: Promise<void> | undefined
  #closed = false

  constructor(private readonly options: AgentOptions) {
    super()
    this.#slots = new Slots(options.store, options.crypto)
    this.#engines = new Engines(options.engines)
  }

  /** Offline boot: persisted current, else previous, else the bundled model. Never touches the network. */
  async start(): Promise<void> {
    const state = await this.#slots.readState()
    const { model, source, fallbacks } = await bootModel(state, this.#slots, this.#engines, this.options.bundledModel)
    this.#current = model
    if (fallbacks.length > 0 && state.current !== null) {
      // Serve what loaded, and make it the persisted truth.
      const next: SlotState = {
        ...state,
        current: source === 'previous' ? state.previous : null,
        previous: null,
        probation: null,
      }
      await this.#slots.writeState(next)
    } else if (state.probation !== null && source === 'current') {
      // A restart during probation: the window starts again, the previous model stays ready.
      await this.#openProbation(state.previous)
    }
    const pending = await this.#slots.pendingDownloads()
    await this.#slots.collect(
      await this.#slots.readState(),
      pending.map((p) => p.manifest),
    )
    this.emit('booted', { model: this.#current?.ref ?? null, source, fallbacks })
  }

  /** Downloads that a crash or a lost network interrupted, with their sources. */
  async pendingDownloads(): Promise<{ manifest: ModelManifest; source: ModelSource }[]> {
    return (await this.#slots.pendingDownloads()) as { manifest: ModelManifest; source: ModelSource }[]
  }

  get current(): ModelManifest | undefined {
    return this.#current?.manifest
  }

  async status(): Promise<{
    current: (ModelRef & { origin: string }) | null
    probation: { name: string; version: number; predictions: number; remainingMs: number } | null
    shadow: ShadowReport | null
    installing: boolean
    state: SlotState
  }> {
    const p = this.#probation
    const c = this.#current
    return {
      current: c ? { ...c.ref, origin: c.origin } : null,
      probation:
        p && c
          ? { ...c.ref, predictions: p.successes, remainingMs: p.remainingMs(this.options.clock.monotonic()) }
          : null,
      shadow: this.#shadow?.stats.report() ?? null,
      installing: this.#installing !== undefined,
      state: await this.#slots.readState(),
    }
  }

  async predict(input: unknown): Promise<PredictionResult> {
    const model = this.#current
    if (model === undefined) throw new AgentError('E_NO_MODEL', 'the agent has no model loaded')
    const started = this.options.clock.monotonic()
    let outputs: NamedOutputs
    try {
      outputs = await model.predict(input)
    } catch (e) {
      const error = toAgentError(e, 'E_INFERENCE')
      const modelFault = error.code === 'E_INFERENCE' || error.code === 'E_OUTPUT_NONFINITE'
      if (modelFault && this.#probation !== undefined && model === this.#current) {
        await this.#rollback(model, error)
        return this.predict(input)
      }
      if (modelFault && this.#current !== model && this.#current !== undefined) return this.predict(input)
      throw error
    }
    const result: PredictionResult = { outputs, model: model.ref, latencyMs: this.options.clock.monotonic() - started }
    if (this.#probation !== undefined && model === this.#current) {
      if (this.#probation.recordSuccess(this.options.clock.monotonic())) void this.#passProbation(model)
    }
    this.#shadow?.offer(input, outputs)
    this.emit('prediction', { input, result })
    return result
  }

  /** Fetches a manifest and takes its model through the lifecycle. Resolves to the outcome, never rejects. */
  async install(source: ModelSource, options: { shadow?: boolean } = {}): Promise<Outcome> {
    if (this.#installing !== undefined) {
      const error = new AgentError('E_BUSY', 'a candidate is already being installed')
      return { outcome: 'rejected', code: error.code, message: error.message }
    }
    this.#installing = this.#install(source, options.shadow ?? false)
    try {
      return await this.#installing
    } finally {
      this.#installing = undefined
    }
  }

  async #install(source: ModelSource, shadow: boolean): Promise<Outcome> {
    let manifest: ModelManifest
    try {
      manifest = await fetchManifest(this.options.downloader, source.manifestUrl)
    } catch (e) {
      return this.#failed(toAgentError(e, 'E_DOWNLOAD'))
    }
    return this.#installManifest(manifest, source, shadow)
  }

  /** A download that failed may be retried; anything else refused the version. Both are reported. */
  #failed(error: AgentError, ref?: ModelRef): Outcome {
    const failure = { ...(ref ?? { name: '', version: 0 }), code: error.code, message: error.message }
    const outcome = error.code === 'E_DOWNLOAD' ? 'download-failed' : 'rejected'
    this.emit(outcome, failure)
    return { outcome, ...(ref ? { model: ref } : {}), code: error.code, message: error.message }
  }

  async #installManifest(manifest: ModelManifest, source: ModelSource, shadow: boolean): Promise<Outcome> {
    const ref = { name: manifest.name, version: manifest.version }
    const serving = [this.#current?.ref, this.#shadow?.model.ref]
    // Polling the same manifest again is not an event.
    if (serving.some((r) => r?.name === ref.name && r.version === ref.version))
      return { outcome: 'unchanged', model: ref }
    const ctx: CandidateContext = {
      ...this.options,
      slots: this.#slots,
      engines: this.#engines,
      keys: this.options.publicKeys,
      current: this.#current?.ref,
      onProgress: (p) => this.emit('download-progress', p),
    }
    let candidate: LoadedModel
    try {
      await admitManifest(manifest, ctx)
      candidate = await prepareCandidate(manifest, source, ctx)
    } catch (e) {
      return this.#failed(toAgentError(e), ref)
    }
    if (shadow && this.#current !== undefined && this.options.shadow !== undefined) {
      this.#shadow?.model.retire()
      this.#shadow = new ShadowTrial(candidate, this.options.shadow, this.options.random ?? Math.random, {
        report: (report) => this.emit('shadow', report),
        verdict: (trial, agreed) => this.#shadowVerdict(trial, agreed),
      })
      return { outcome: 'shadow', model: ref }
    }
    return this.#activate(candidate)
  }

  /** Resumes the downloads a crash or a lost network interrupted (outcomes arrive as events). */
  async resumeDownloads(): Promise<Outcome[]> {
    const outcomes: Outcome[] = []
    for (const { manifest, source } of await this.pendingDownloads()) {
      if (this.#installing !== undefined || this.#closed) break
      this.#installing = this.#installManifest(manifest, source, false)
      try {
        outcomes.push(await this.#installing)
      } finally {
        this.#installing = undefined
      }
    }
    return outcomes
  }

  async #activate(candidate: LoadedModel): Promise<Outcome> {
    const ref = candidate.ref
    const old = this.#current
    try {
      const state = await this.#slots.readState()
      const previous = old?.origin === 'installed' ? old.ref : null
      const next: SlotState = { ...state, current: ref, previous, probation: old ? ref : null }
      await this.#slots.writeState(next)
      await this.#slots.collect(next)
    } catch (e) {
      candidate.retire()
      const error = toAgentError(e, 'E_STORE')
      this.emit('rejected', { ...ref, code: error.code, message: error.message })
      return { outcome: 'rejected', model: ref, code: error.code, message: error.message }
    }
    this.#closeProbation()
    this.#fallback?.retire()
    this.#current = candidate
    this.#fallback = undefined
    if (old !== undefined) {
      // The replaced model, installed or bundled, stays loaded for an instant rollback.
      this.#fallback = old
      await this.#openProbation(old.origin === 'installed' ? old.ref : null, false)
    }
    this.emit('activated', { ...ref, previous: old?.ref ?? null })
    return { outcome: 'activated', model: ref }
  }

  /** Opens the probation window of the current model; `previous` (null: the bundled model) is the way back. */
  async #openProbation(previous: ModelRef | null, load = true): Promise<void> {
    const current = this.#current
    if (current === undefined) return
    if (load) {
      try {
        if (previous !== null) {
          this.#fallback = await loadVerified(
            await this.#slots.readModel(modelDir(previous)),
            this.#engines,
            'installed',
          )
        } else if (this.options.bundledModel !== undefined) {
          this.#fallback = await loadVerified(await this.options.bundledModel(), this.#engines, 'bundled')
        } else return
      } catch {
        return // Nothing to roll back to: the current model simply serves.
      }
    }
    const limits = { ...DEFAULT_PROBATION, ...current.manifest.rollout?.probation, ...this.options.probation }
    const now = this.options.clock.monotonic()
    this.#probation = new Probation(limits, now)
    this.#probationTimer = setTimeout(() => void this.#passProbation(current), this.#probation.remainingMs(now))
  }

  #closeProbation(): void {
    if (this.#probationTimer !== undefined) clearTimeout(this.#probationTimer)
    this.#probationTimer = undefined
    this.#probation = undefined
  }

  async #passProbation(model: LoadedModel): Promise<void> {
    const probation = this.#probation
    if (probation === undefined || this.#current !== model) return
    this.#closeProbation()
    this.#fallback?.retire()
    this.#fallback = undefined
    try {
      const state = await this.#slots.readState()
      await this.#slots.writeState({ ...state, probation: null })
    } catch {
      // The window reopens after a restart; the model keeps serving.
    }
    this.emit('probation-passed', { ...model.ref, predictions: probation.successes })
  }

  #rollback(model: LoadedModel, error: AgentError): Promise<void> {
    this.#rollingBack ??= (async () => {
      const to = this.#fallback
      if (to === undefined || this.#current !== model) return
      this.#closeProbation()
      const bad = modelId(model.manifest)
      const state = await this.#slots.readState()
      const next: SlotState = {
        ...state,
        current: to.origin === 'installed' ? to.ref : null,
        previous: null,
        probation: null,
        refused: [...state.refused.filter((r) => r !== bad), bad],
      }
      try {
        await this.#slots.writeState(next)
      } catch {
        // Still switch in memory: a bad model must stop serving now.
      }
      this.#current = to
      this.#fallback = undefined
      model.retire()
      await this.#slots.collect(next)
      const failure = new AgentError('E_PROBATION_FAILED', `${bad} during probation: ${error.code} ${error.detail}`)
      this.emit('rolled-back', { ...model.ref, code: failure.code, message: failure.message, to: to.ref })
    })().finally(() => {
      this.#rollingBack = undefined
    })
    return this.#rollingBack
  }

  async #shadowVerdict(trial: ShadowTrial, agreed: boolean): Promise<void> {
    if (this.#shadow !== trial) return
    this.#shadow = undefined
    if (agreed) {
      await this.#activate(trial.model)
      return
    }
    trial.model.retire()
    await this.#slots.discard(trial.model.ref)
    const report = trial.stats.report()
    const error = new AgentError(
      'E_SHADOW_DISAGREEMENT',
      `${report.name}@${report.version} agreed on ${report.agreed} of ${report.compared} inputs (needs ${this.options.shadow?.minAgreement})`,
    )
    this.emit('rejected', { name: report.name, version: report.version, code: error.code, message: error.message })
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#closeProbation()
    await this.#installing?.catch(() => undefined)
    for (const model of [this.#current, this.#fallback, this.#shadow?.model]) model?.retire()
    this.#current = undefined
    this.#fallback = undefined
    this.#shadow = undefined
  }
}
