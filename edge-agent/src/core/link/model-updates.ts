// Model updates pushed by the bridge (docs/protocol.md §5 `model`): each
// `model` frame names the version this device should run; the agent installs
// it through its lifecycle (signature, sha256, downgrade, golden vectors,
// probation) and every outcome goes back as a `model-status` frame, which
// drives the rollout's counts and abort criteria on the bridge.
import type { ModelFrame, ModelStatusFrame } from '../../protocol/v1.ts'
import type { Agent, Outcome } from '../agent.ts'
import type { ModelSource } from '../models/download.ts'
import { Emitter } from '../outbox/emitter.ts'
import type { LinkClock } from './clock.ts'
import type { Link } from './link.ts'

/** What model updates need from the agent. */
export type ModelInstaller = Pick<Agent, 'install' | 'on' | 'current'>

export interface ModelUpdatesOptions {
  link: Pick<Link, 'onFrame' | 'send' | 'on'>
  agent: ModelInstaller
  /** The bridge's HTTP base URL: `manifestUrl` of a frame is relative to it. */
  baseUrl: string
  /** Where files live, with {name}, {version}, {path} (default: the bridge's /v1/models/{name}/{version}/files/{path}). */
  filesUrl?: string
  /** Candidates go through shadow mode first. */
  shadow?: boolean
  /** Wait before trying a failed download again (default 15 s). */
  retryMs?: number
  clock: Pick<LinkClock, 'setTimeout' | 'clearTimeout'>
}

export interface ModelUpdateEvents {
  /** What was done with a `model` frame. */
  update: { name: string; version: number; outcome: Outcome['outcome'] | 'older-than-running' | 'already-reported' }
  /** A status report, and whether it went out now or waits for the next session. */
  status: ModelStatusFrame & { sent: boolean }
}

export interface ModelUpdatesStats {
  /** The version the bridge last assigned, per model. */
  assigned: Record<string, number>
  /** Reports waiting for a session. */
  pendingReports: number
  lastReport?: ModelStatusFrame
}

export class ModelUpdates extends Emitter<ModelUpdateEvents> {
  readonly #o: ModelUpdatesOptions
  /** The latest frame per model name that is not handled yet. */
  readonly #wanted = new Map<string, ModelFrame>()
  readonly #assigned = new Map<string, number>()
  /** Reports of versions refused here, so a frame naming them again is answered without a new install. */
  readonly #refusals = new Map<string, ModelStatusFrame>()
  /** Reports that found no session, by model name: the latest wins. */
  readonly #pending = new Map<string, ModelStatusFrame>()
  readonly #off: (() => void)[] = []
  #working = false
  #retryTimer: unknown
  #lastReport: ModelStatusFrame | undefined
  #stopped = false

  constructor(options: ModelUpdatesOptions) {
    super()
    this.#o = options
  }

  start(): void {
    const { link, agent } = this.#o
    this.#off.push(
      link.onFrame('model', (frame) => {
        this.#assigned.set(frame.name, frame.version)
        this.#wanted.set(frame.name, frame)
        void this.#work()
      }),
      link.on('online', () => {
        for (const [name, report] of this.#pending) if (link.send(report)) this.#pending.delete(name)
      }),
      // Outcomes arrive as agent events, also those that come later than the
      // install (a shadow verdict, a rollback during probation).
      agent.on('activated', (e) => this.#report(e.name, e.version, 'activated')),
      agent.on('rejected', (e) => this.#report(e.name, e.version, 'rejected', `${e.code}: ${e.message}`)),
      agent.on('rolled-back', (e) => this.#report(e.name, e.version, 'rolled-back', `${e.code}: ${e.message}`)),
    )
  }

  stop(): void {
    this.#stopped = true
    for (const off of this.#off.splice(0)) off()
    this.#o.clock.clearTimeout(this.#retryTimer)
  }

  stats(): ModelUpdatesStats {
    return {
      assigned: Object.fromEntries(this.#assigned),
      pendingReports: this.#pending.size,
      ...(this.#lastReport ? { lastReport: this.#lastReport } : {}),
    }
  }

  /** The frame's manifest URL, against the bridge's base URL (which may carry a path prefix). */
  manifestUrl(frame: Pick<ModelFrame, 'manifestUrl'>): string {
    if (/^[a-z][a-z0-9+.-]*:/i.test(frame.manifestUrl)) return frame.manifestUrl
    const base = this.#httpBase()
    return frame.manifestUrl.startsWith('/') ? `${base}${frame.manifestUrl}` : `${base}/${frame.manifestUrl}`
  }

  #httpBase(): string {
    return this.#o.baseUrl.replace(/^ws/, 'http').replace(/\/+$/, '')
  }

  async #work(): Promise<void> {
    if (this.#working) return
    this.#working = true
    try {
      for (;;) {
        if (this.#stopped) return
        const next = this.#wanted.values().next()
        if (next.done) return
        const frame = next.value
        const retryIn = await this.#apply(frame)
        // A newer frame for this model may have come in meanwhile: that one stays wanted.
        if (this.#wanted.get(frame.name) === frame) this.#wanted.delete(frame.name)
        if (retryIn !== undefined) {
          this.#o.clock.clearTimeout(this.#retryTimer)
          this.#retryTimer = this.#o.clock.setTimeout(() => {
            if (!this.#wanted.has(frame.name) && this.#assigned.get(frame.name) === frame.version) {
              this.#wanted.set(frame.name, frame)
              void this.#work()
            }
          }, retryIn)
        }
      }
    } finally {
      this.#working = false
    }
  }

  /** Takes one frame through the lifecycle; returns a delay when it should be tried again. */
  async #apply(frame: ModelFrame): Promise<number | undefined> {
    const { agent } = this.#o
    const running = agent.current
    if (running?.name === frame.name && running.version > frame.version) {
      // The rollout was aborted or paused: this agent keeps its newer, verified
      // model (it never installs a version below one it has seen).
      this.emit('update', { name: frame.name, version: frame.version, outcome: 'older-than-running' })
      return undefined
    }
    const refusal = this.#refusals.get(`${frame.name}@${frame.version}`)
    if (refusal) {
      this.#send(refusal)
      this.emit('update', { name: frame.name, version: frame.version, outcome: 'already-reported' })
      return undefined
    }
    const source: ModelSource = {
      manifestUrl: this.manifestUrl(frame),
      filesUrl: this.#o.filesUrl ?? `${this.#httpBase()}/v1/models/{name}/{version}/files/{path}`,
    }
    const outcome = await agent.install(source, { shadow: this.#o.shadow === true })
    this.emit('update', { name: frame.name, version: frame.version, outcome: outcome.outcome })
    switch (outcome.outcome) {
      case 'unchanged':
        // Already running it: say so, the bridge may have missed the earlier report.
        this.#report(outcome.model.name, outcome.model.version, 'activated')
        return undefined
      case 'download-failed':
        return this.#o.retryMs ?? 15_000
      case 'rejected':
        if (outcome.code === 'E_BUSY') return 1000
        // Refused before it had a name (an unreadable manifest): no agent event carried it.
        if (outcome.model === undefined)
          this.#report(frame.name, frame.version, 'rejected', `${outcome.code}: ${outcome.message}`)
        return undefined
      default:
        return undefined // activated (reported by the event) or in shadow mode (reported at the verdict).
    }
  }

  #report(name: string, version: number, state: ModelStatusFrame['state'], reason?: string): void {
    if (name === '' || version < 1 || this.#stopped) return
    const current = this.#o.agent.current
    const report: ModelStatusFrame = {
      type: 'model-status',
      name,
      version,
      state,
      ...(reason !== undefined ? { reason: reason.slice(0, 1024) } : {}),
      running: current ? { [current.name]: current.version } : {},
    }
    if (state !== 'activated') this.#refusals.set(`${name}@${version}`, report)
    this.#send(report)
  }

  #send(report: ModelStatusFrame): void {
    this.#lastReport = report
    const sent = this.#o.link.send(report)
    if (sent) this.#pending.delete(report.name)
    else this.#pending.set(report.name, report)
    this.emit('status', { ...report, sent })
  }
}
