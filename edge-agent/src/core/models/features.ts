/**
 * Named features -> input tensors, per models/README.md: each input's row is
 * its features' values concatenated in manifest order. Every way an input
 * can be wrong gets its own code before a runtime sees it.
 */

import { featuresToTensor, GoldenError } from '@kafka-edge/models/golden'
import type { NamedFeatures } from '@kafka-edge/models/manifest'
import type { TensorValue } from '../engines/engine.ts'
import { AgentError } from '../errors.ts'
import type { ModelManifest } from './manifest.ts'

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array with a non-number'
  return `a ${typeof value}`
}

function checkNumber(name: string, v: unknown, integer: boolean): void {
  if (typeof v !== 'number') {
    if (v === null) throw new AgentError('E_INPUT_NAN', `feature "${name}" holds null`)
    throw new AgentError('E_FEATURE_TYPE', `feature "${name}" holds ${describe(v)}`)
  }
  if (!Number.isFinite(v)) throw new AgentError('E_INPUT_NAN', `feature "${name}" holds ${v}`)
  if (integer && !Number.isInteger(v))
    throw new AgentError('E_FEATURE_TYPE', `feature "${name}" needs integers, got ${v}`)
}

/** Every feature name a manifest's inputs list, built once per manifest rather than once per prediction. */
const featureNames = new WeakMap<ModelManifest, ReadonlySet<string>>()

function knownFeatures(manifest: ModelManifest): ReadonlySet<string> {
  let known = featureNames.get(manifest)
  if (known === undefined) {
    known = new Set(manifest.inputs.flatMap((i) => i.features))
    featureNames.set(manifest, known)
  }
  return known
}

/** Validates `input` against the manifest and returns the feeds, input name -> tensor. */
export function inputToTensors(manifest: ModelManifest, input: unknown): Record<string, TensorValue> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new AgentError('E_INPUT_INVALID', `the input is ${describe(input)}, not an object of features`)
  const record = input as Record<string, unknown>
  const known = knownFeatures(manifest)
  const unknown = Object.keys(record).filter((k) => !known.has(k))
  if (unknown.length > 0)
    throw new AgentError(
      'E_FEATURE_UNKNOWN',
      `unknown feature${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`,
    )
  const feeds: Record<string, TensorValue> = {}
  for (const spec of manifest.inputs) {
    const integer = spec.dtype !== 'float32'
    const missing = spec.features.filter((f) => !Object.hasOwn(record, f))
    if (missing.length > 0)
      throw new AgentError(
        'E_FEATURE_MISSING',
        `missing feature${missing.length > 1 ? 's' : ''} ${missing.map((k) => `"${k}"`).join(', ')}`,
      )
    for (const name of spec.features) {
      const value = record[name]
      if (Array.isArray(value)) {
        if (value.length === 0) throw new AgentError('E_FEATURE_SHAPE', `feature "${name}" is an empty array`)
        for (const v of value) checkNumber(name, v, integer)
      } else checkNumber(name, value, integer)
    }
    try {
      feeds[spec.name] = featuresToTensor(spec, record as NamedFeatures)
    } catch (e) {
      if (e instanceof GoldenError) throw new AgentError('E_FEATURE_SHAPE', e.message)
      throw e
    }
  }
  return feeds
}
