/** Bad input gets a precise code before any runtime sees it. */

import { describe, expect, it } from 'vitest'
import { inputToTensors } from '../src/core/models/features.ts'
import { parseManifest } from '../src/core/models/manifest.ts'
import { readCommittedManifest } from './support/signing.ts'

const wine = parseManifest(readCommittedManifest('wine'))
const vibration = parseManifest(readCommittedManifest('vibration-anomaly'))
const good = wine.golden.vectors[0]!.input

describe('named features -> tensors', () => {
  it('maps the features in manifest order to a [1, 13] float tensor', () => {
    const t = inputToTensors(wine, good).features!
    expect(t.dims).toEqual([1, 13])
    expect(t.data[0]).toBeCloseTo(13.16, 5)
    expect(t.data[12]).toBe(1185)
  })

  it.each([
    [
      'a missing feature',
      Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'proline')),
      'E_FEATURE_MISSING',
      'proline',
    ],
    ['an unknown feature', { ...good, colour: 1 }, 'E_FEATURE_UNKNOWN', 'colour'],
    ['a string', { ...good, hue: '1.03' }, 'E_FEATURE_TYPE', 'hue'],
    ['a boolean', { ...good, hue: true }, 'E_FEATURE_TYPE', 'hue'],
    ['NaN', { ...good, hue: Number.NaN }, 'E_INPUT_NAN', 'hue'],
    ['Infinity', { ...good, hue: Number.POSITIVE_INFINITY }, 'E_INPUT_NAN', 'hue'],
    ['null', { ...good, hue: null }, 'E_INPUT_NAN', 'hue'],
    ['an array input', [1, 2, 3], 'E_INPUT_INVALID', 'array'],
    ['a number input', 42, 'E_INPUT_INVALID', 'number'],
  ])('refuses %s', (_what, input, code, mention) => {
    expect(() => inputToTensors(wine, input)).toThrow(
      expect.objectContaining({ code, message: expect.stringContaining(mention) }),
    )
  })

  it('refuses a window of the wrong length with E_FEATURE_SHAPE', () => {
    expect(() => inputToTensors(vibration, { acceleration: [1, 2, 3] })).toThrow(
      expect.objectContaining({ code: 'E_FEATURE_SHAPE' }),
    )
    expect(() => inputToTensors(vibration, { acceleration: [] })).toThrow(
      expect.objectContaining({ code: 'E_FEATURE_SHAPE' }),
    )
  })

  it('refuses NaN inside a window', () => {
    const window = Array.from({ length: 256 }, () => 0.1)
    window[7] = Number.NaN
    expect(() => inputToTensors(vibration, { acceleration: window })).toThrow(
      expect.objectContaining({ code: 'E_INPUT_NAN' }),
    )
  })
})

describe('manifests', () => {
  it.each([
    ['not JSON', '{', 'not JSON'],
    ['a bad format', { ...readCommittedManifest('wine'), format: 'pickle' }, 'format'],
    [
      'an unsafe path',
      { ...readCommittedManifest('wine'), files: [{ path: '../x', size: 1, sha256: 'a'.repeat(64) }] },
      'unsafe',
    ],
    ['a missing entry', { ...readCommittedManifest('wine'), entry: 'other.onnx' }, 'entry'],
  ])('refuses %s with E_MANIFEST_INVALID', (_what, source, mention) => {
    expect(() => parseManifest(source)).toThrow(
      expect.objectContaining({ code: 'E_MANIFEST_INVALID', message: expect.stringContaining(mention) }),
    )
  })
})
