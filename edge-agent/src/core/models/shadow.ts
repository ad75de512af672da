/**
 * Shadow mode: a verified candidate scores a sample of live inputs beside
 * the current model; its answers are compared, never served. Agreement: the
 * same class for outputs with class labels, otherwise every numeric output
 * within the tolerance rule of the golden vectors.
 */

import { flattenNumbers, withinTolerance } from '@kafka-edge/models/golden'
import type { LoadedModel } from './loaded.ts'
import type { NamedOutput, NamedOutputs } from './outputs.ts'

export interface ShadowOptions {
  /** Share of live predictions the candidate also scores (0..1). */
  sampleRate: number
  /** Comparisons before the candidate is promoted or refused. */
  samples: number
  /** Agreement rate needed for promotion. */
  minAgreement: number
  /** Relative tolerance for numeric outputs (the golden-vector rule). */
  tolerance: number
}

export interface ShadowReport {
  name: string
  version: number
  compared: number
  agreed: number
  errors: number
  /** agreed / compared, or null before the first comparison. */
  agreementRate: number | null
}

function numbers(value: NamedOutput): number[] {
  return typeof value === 'object' && !Array.isArray(value) ? Object.values(value) : flattenNumbers(value)
}

export function outputsAgree(current: NamedOutputs, candidate: NamedOutputs, tolerance: number): boolean {
  const names = Object.keys(current).filter((n) => n in candidate)
  if (names.length === 0) return false
  const labelled = names.filter((n) => typeof current[n] === 'string')
  if (labelled.length > 0) return labelled.every((n) => current[n] === candidate[n])
  return names.every(
    (n) => withinTolerance(numbers(candidate[n] as NamedOutput), numbers(current[n] as NamedOutput), tolerance).ok,
  )
}

export class ShadowStats {
  compared = 0
  agreed = 0
  errors = 0
  constructor(
    readonly name: string,
    readonly version: number,
  ) {}

  record(agrees: boolean): void {
    this.compared++
    if (agrees) this.agreed++
  }

  report(): ShadowReport {
    return {
      name: this.name,
      version: this.version,
      compared: this.compared,
      agreed: this.agreed,
      errors: this.errors,
      agreementRate: this.compared === 0 ? null : this.agreed / this.compared,
    }
  }
}

/** A candidate on trial in shadow mode: scores sampled inputs off the serving path, then gives a verdict. */
export class ShadowTrial {
  readonly stats: ShadowStats
  #decided = false

  constructor(
    readonly model: LoadedModel,
    private readonly options: ShadowOptions,
    private readonly random: () => number,
    private readonly on: {
      report(report: ShadowReport): void
      verdict(trial: ShadowTrial, agreed: boolean): Promise<void>
    },
  ) {
    this.stats = new ShadowStats(model.manifest.name, model.manifest.version)
  }

  /** Maybe scores `input` beside the answer the current model served; never delays or fails the caller. */
  offer(input: unknown, served: NamedOutputs): void {
    if (this.#decided || this.random() >= this.options.sampleRate) return
    void this.model
      .predict(input)
      .then(
        (outputs) => this.stats.record(outputsAgree(served, outputs, this.options.tolerance)),
        () => {
          this.stats.errors++
          this.stats.record(false)
        },
      )
      .then(() => this.#judge())
  }

  async #judge(): Promise<void> {
    if (this.#decided) return
    const report = this.stats.report()
    const done = report.compared >= this.options.samples
    if (report.compared % 10 === 0 || done) this.on.report(report)
    if (!done) return
    this.#decided = true
    await this.on.verdict(this, (report.agreementRate ?? 0) >= this.options.minAgreement)
  }
}
