/**
 * Parses a manifest (models/README.md) once at the boundary into the typed
 * ModelManifest the rest of the agent trusts. Structure only: the signature
 * and the files are checked in verify.ts.
 */

import type { ModelManifest } from '@kafka-edge/models/manifest'
import { AgentError } from '../errors.ts'

export type { ModelManifest } from '@kafka-edge/models/manifest'

const FORMATS = new Set(['onnx', 'tfjs'])
const DTYPES = new Set(['float32', 'int64', 'int32'])
/** Names the agent keeps beside a model's files. */
const RESERVED = new Set(['manifest.json', 'source.json'])
const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._/-]+$/

function fail(detail: string): never {
  throw new AgentError('E_MANIFEST_INVALID', `manifest ${detail}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(o: Record<string, unknown>, key: string, at: string): string {
  const v = o[key]
  if (typeof v !== 'string' || v === '') fail(`${at}.${key} must be a non-empty string`)
  return v
}

function shape(v: unknown, at: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((d) => Number.isInteger(d) && (d === -1 || d > 0)))
    fail(`${at}.shape must be a non-empty array of positive integers or -1`)
  return v as number[]
}

/** What an input and an output both are: an object with a name, a dtype and a shape. */
function tensorSpec(v: unknown, at: string): Record<string, unknown> {
  if (!isObject(v)) fail(`${at} must be an object`)
  str(v, 'name', at)
  if (!DTYPES.has(v.dtype as string)) fail(`${at}.dtype must be float32, int64 or int32`)
  shape(v.shape, at)
  return v
}

/** Parses manifest JSON text (or an already parsed value). Throws E_MANIFEST_INVALID. */
export function parseManifest(source: string | unknown): ModelManifest {
  let m: unknown = source
  if (typeof source === 'string') {
    try {
      m = JSON.parse(source)
    } catch (e) {
      fail(`is not JSON (${(e as Error).message})`)
    }
  }
  if (!isObject(m)) fail('must be a JSON object')
  const name = str(m, 'name', '$')
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) fail('$.name must be letters, digits, ".", "_" or "-"')
  if (!Number.isSafeInteger(m.version) || (m.version as number) < 1) fail('$.version must be a positive integer')
  if (!FORMATS.has(m.format as string)) fail(`$.format must be "onnx" or "tfjs", not ${JSON.stringify(m.format)}`)
  const entry = str(m, 'entry', '$')
  if (!Array.isArray(m.files) || m.files.length === 0) fail('$.files must be a non-empty array')
  for (const [i, f] of m.files.entries()) {
    if (!isObject(f)) fail(`$.files[${i}] must be an object`)
    const path = str(f, 'path', `$.files[${i}]`)
    if (!SAFE_PATH.test(path) || RESERVED.has(path)) fail(`$.files[${i}].path ${JSON.stringify(path)} is unsafe`)
    if (!Number.isSafeInteger(f.size) || (f.size as number) < 0) fail(`$.files[${i}].size must be an integer >= 0`)
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256))
      fail(`$.files[${i}].sha256 must be 64 lowercase hex digits`)
  }
  if (!m.files.some((f) => (f as { path: string }).path === entry)) fail(`$.entry ${entry} is not in $.files`)
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) fail('$.inputs must be a non-empty array')
  for (const [i, value] of m.inputs.entries()) {
    const at = `$.inputs[${i}]`
    const input = tensorSpec(value, at)
    if (
      !Array.isArray(input.features) ||
      input.features.length === 0 ||
      !input.features.every((f) => typeof f === 'string')
    )
      fail(`${at}.features must be a non-empty array of names`)
  }
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) fail('$.outputs must be a non-empty array')
  for (const [i, value] of m.outputs.entries()) {
    const at = `$.outputs[${i}]`
    const output = tensorSpec(value, at)
    if (
      output.labels !== undefined &&
      !(Array.isArray(output.labels) && output.labels.every((l) => typeof l === 'string'))
    )
      fail(`${at}.labels must be an array of strings`)
  }
  const golden = m.golden
  if (!isObject(golden) || typeof golden.tolerance !== 'number' || !(golden.tolerance >= 0))
    fail('$.golden.tolerance must be a number >= 0')
  if (
    !Array.isArray(golden.vectors) ||
    !golden.vectors.every((v) => isObject(v) && isObject(v.input) && isObject(v.output))
  )
    fail('$.golden.vectors must be an array of {input, output}')
  if (m.rollout !== undefined) {
    const p = isObject(m.rollout) ? m.rollout.probation : undefined
    if (p !== undefined && !(isObject(p) && Number.isFinite(p.predictions) && Number.isFinite(p.seconds)))
      fail('$.rollout.probation must be {predictions, seconds}')
  }
  if (m.expiresAt !== undefined && m.expiresAt !== null && Number.isNaN(Date.parse(String(m.expiresAt))))
    fail('$.expiresAt must be an ISO date or null')
  return m as unknown as ModelManifest
}

/** "wine@3" */
export function modelId(m: { name: string; version: number }): string {
  return `${m.name}@${m.version}`
}
