/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for the values a
 * manifest holds: plain objects, arrays, strings, finite numbers, booleans
 * and null. Object keys are sorted by UTF-16 code units (RFC 8785 §3.2.3;
 * for the ASCII keys of our manifests this is code-point order), there is
 * no whitespace, and strings and numbers are printed exactly as
 * JSON.stringify prints them, which is what RFC 8785 prescribes.
 *
 * No runtime imports: the edge agent uses this file in browsers too.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export class CanonicalJsonError extends TypeError {
  readonly code = 'E_CANONICAL_JSON'
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} at ${path}`)
    this.name = 'CanonicalJsonError'
  }
}

function compareUtf16(a: string, b: string): number {
  // The default string comparison of JavaScript is by UTF-16 code units.
  return a < b ? -1 : a > b ? 1 : 0
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function write(value: unknown, path: string, out: string[]): void {
  if (value === null) {
    out.push('null')
    return
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false')
      return
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`non-finite number ${value}`, path)
      out.push(JSON.stringify(value))
      return
    case 'string':
      out.push(JSON.stringify(value))
      return
    case 'object':
      break
    default:
      throw new CanonicalJsonError(`unsupported ${typeof value} value`, path)
  }
  if (Array.isArray(value)) {
    out.push('[')
    value.forEach((item, i) => {
      if (i > 0) out.push(',')
      if (item === undefined) throw new CanonicalJsonError('undefined array element', `${path}[${i}]`)
      write(item, `${path}[${i}]`, out)
    })
    out.push(']')
    return
  }
  if (!isPlainObject(value)) throw new CanonicalJsonError('not a plain object', path)
  // Properties holding undefined are left out, as JSON.stringify does, so
  // an object signs the same way it is sent.
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort(compareUtf16)
  out.push('{')
  keys.forEach((key, i) => {
    if (i > 0) out.push(',')
    out.push(JSON.stringify(key), ':')
    write(value[key], `${path}.${key}`, out)
  })
  out.push('}')
}

/** The canonical JSON text of `value`; throws CanonicalJsonError for values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) throw new CanonicalJsonError('undefined value', '$')
  const out: string[] = []
  write(value, '$', out)
  return out.join('')
}
