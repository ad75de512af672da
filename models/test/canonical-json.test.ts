import { describe, expect, it } from 'vitest'
import { CanonicalJsonError, canonicalJson } from '../src/canonical-json.ts'

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 2 }], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[3,{"a":2,"z":1}]}',
    )
  })

  it('prints numbers as JavaScript does (RFC 8785 §3.2.2.3)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, -0, 4.5, 1e300, 333333333.3333333, 2 ** 53])).toBe(
      '[1e+21,1e-7,0.1,0,4.5,1e+300,333333333.3333333,9007199254740992]',
    )
  })

  it('escapes strings as JSON.stringify does', () => {
    expect(canonicalJson({ 'é\u0000': '"\\\n\u2028😀' })).toBe('{"é\\u0000":"\\"\\\\\\n\u2028😀"}')
  })

  it('orders keys by UTF-16 code units', () => {
    // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16 order.
    expect(canonicalJson({ '\uFB01': 1, '😀': 2, a: 3, A: 4 })).toBe('{"A":4,"a":3,"😀":2,"\uFB01":1}')
  })

  it('matches the RFC 8785 appendix example shape', () => {
    const value = {
      numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      literals: [null, true, false],
    }
    expect(canonicalJson(value)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}',
    )
  })

  it('leaves out undefined properties and rejects what JSON cannot carry', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}')
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(CanonicalJsonError)
    expect(() => canonicalJson([undefined])).toThrow(CanonicalJsonError)
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/not a plain object at \$\.d/)
    expect(() => canonicalJson(10n)).toThrow(CanonicalJsonError)
  })
})
