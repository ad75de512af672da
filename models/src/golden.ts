/**
 * Golden-vector plumbing shared by every runtime: named features -> tensor
 * data, and tolerant comparison of outputs. No runtime imports.
 */

import type { ManifestInput, NamedFeatures } from './manifest.ts'

export interface TensorData {
  data: Float32Array | BigInt64Array | Int32Array
  dims: number[]
}

export class GoldenError extends Error {
  constructor(
    readonly code: 'E_GOLDEN_INPUT' | 'E_GOLDEN_MISMATCH',
    message: string,
  ) {
    super(message)
    this.name = 'GoldenError'
  }
}

/**
 * Builds the tensor of one input for a batch of one: the features' values
 * concatenated in `input.features` order, shaped like `input.shape` with the
 * batch set to 1 (a dynamic non-batch dimension takes the remaining length).
 */
export function featuresToTensor(input: ManifestInput, features: NamedFeatures): TensorData {
  const values: number[] = []
  for (const name of input.features) {
    const value = features[name]
    if (value === undefined) throw new GoldenError('E_GOLDEN_INPUT', `input ${input.name}: feature "${name}" missing`)
    if (typeof value === 'number') values.push(value)
    else values.push(...value)
  }
  const rest = input.shape.slice(1)
  const known = rest.filter((d) => d >= 0).reduce((a, b) => a * b, 1)
  const dynamic = rest.filter((d) => d < 0).length
  if (dynamic > 1) throw new GoldenError('E_GOLDEN_INPUT', `input ${input.name}: more than one dynamic dimension`)
  if (values.length % known !== 0 || (dynamic === 0 && values.length !== known)) {
    throw new GoldenError(
      'E_GOLDEN_INPUT',
      `input ${input.name}: ${values.length} values do not fit shape [${input.shape.join(', ')}]`,
    )
  }
  const dims = [1, ...rest.map((d) => (d < 0 ? values.length / known : d))]
  let data: TensorData['data']
  if (input.dtype === 'float32') data = Float32Array.from(values)
  else if (input.dtype === 'int32') data = Int32Array.from(values)
  else data = BigInt64Array.from(values.map((v) => BigInt(v)))
  return { data, dims }
}

/** Flattens nested arrays of numbers (row-major). */
export function flattenNumbers(value: unknown): number[] {
  if (typeof value === 'number') return [value]
  if (typeof value === 'bigint') return [Number(value)]
  if (Array.isArray(value)) return value.flatMap((v) => flattenNumbers(v))
  throw new GoldenError('E_GOLDEN_MISMATCH', `not a number or array: ${String(value)}`)
}

/** |actual - expected| <= tolerance * max(1, |expected|), element-wise. */
export function withinTolerance(
  actual: ArrayLike<number | bigint>,
  expected: unknown,
  tolerance: number,
): { ok: boolean; maxError: number; message?: string } {
  const want = flattenNumbers(expected)
  if (actual.length !== want.length) {
    return {
      ok: false,
      maxError: Number.POSITIVE_INFINITY,
      message: `length ${actual.length}, expected ${want.length}`,
    }
  }
  let maxError = 0
  for (let i = 0; i < want.length; i++) {
    const a = Number(actual[i])
    const e = want[i] as number
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e))
    if (!(err <= tolerance)) {
      return { ok: false, maxError: err, message: `element ${i}: ${a}, expected ${e}` }
    }
    maxError = Math.max(maxError, err)
  }
  return { ok: true, maxError }
}
