/**
 * Shadow mode: a verified candidate scores a sample of live inputs beside
 * the current model; its answers are compared, never served. Agreement: the
 * same class for outputs with class labels, otherwise every numeric output
 * within the tolerance rule of the golden vectors.
 */

import { flattenNumbers, withinTolerance } from '@kafka-edge/models/golden'
import type { NamedOutput, NamedOutputs } from './outputs.ts'

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
