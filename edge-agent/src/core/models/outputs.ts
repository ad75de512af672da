/**
 * Raw output tensors -> named outputs a caller can read: a classifier's
 * label index becomes its class name, a per-class vector becomes
 * { class: value }, a single value becomes a number, anything else an array
 * in the output's shape without the batch dimension.
 */

import type { TensorOutput } from '../engines/engine.ts'
import { AgentError } from '../errors.ts'
import type { ModelManifest } from './manifest.ts'

export type NamedOutput = number | string | number[] | unknown[] | Record<string, number>
export type NamedOutputs = Record<string, NamedOutput>

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(data: ArrayLike<number | bigint>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (typeof v === 'number' && !Number.isFinite(v)) return i
  }
  return -1
}

function nest(values: number[], dims: readonly number[]): unknown[] {
  if (dims.length <= 1) return values
  const [, ...rest] = dims
  const step = values.length / (dims[0] ?? 1)
  const out: unknown[] = []
  for (let i = 0; i < values.length; i += step) out.push(nest(values.slice(i, i + step), rest))
  return out
}

/** Names the outputs of a batch-of-one run; throws E_OUTPUT_NONFINITE on NaN/Infinity. */
export function nameOutputs(manifest: ModelManifest, raw: Record<string, TensorOutput>): NamedOutputs {
  const named: NamedOutputs = {}
  for (const spec of manifest.outputs) {
    const tensor = raw[spec.name]
    if (tensor === undefined) throw new AgentError('E_INFERENCE', `the model returned no output "${spec.name}"`)
    const bad = firstNonFinite(tensor.data)
    if (bad >= 0)
      throw new AgentError('E_OUTPUT_NONFINITE', `output "${spec.name}"[${bad}] is ${String(tensor.data[bad])}`)
    const values = Array.from(tensor.data, Number)
    const labels = spec.labels
    if (labels !== undefined && values.length === 1 && spec.dtype !== 'float32') {
      const index = values[0] as number
      named[spec.name] = labels[index] ?? index
    } else if (labels !== undefined && values.length === labels.length) {
      named[spec.name] = Object.fromEntries(labels.map((label, i) => [label, values[i] as number]))
    } else if (values.length === 1) {
      named[spec.name] = values[0] as number
    } else {
      named[spec.name] = nest(values, tensor.dims.slice(1))
    }
  }
  return named
}
