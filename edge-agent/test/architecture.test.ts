/**
 * The core runs unchanged in Node and in browsers: it imports no node:*
 * module and touches no runtime global; the runtime adapters do.
 */

import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const core = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'core')
const files = (readdirSync(core, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(core, f))

/** Source without comments (and without string contents), so prose and messages do not count. */
const withoutComments = (file: string) =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
const code = (file: string) => withoutComments(file).replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''")

const FORBIDDEN: [string, RegExp][] = [
  ['process', /\bprocess\./],
  ['Buffer', /\bBuffer\b/],
  ['window / document / navigator', /\b(window|document|navigator)\./],
  ['IndexedDB', /\bindexedDB\b|\bIDB[A-Z]/],
  ['a global fetch', /(?<![.\w])fetch\(/],
  ['globalThis.crypto', /\bcrypto\.subtle\b|globalThis\.crypto/],
]

describe('edge-agent/src/core', () => {
  it('imports no node: module', () => {
    const offenders = files
      .filter((f) => /(from|import\() *['"]node:/.test(withoutComments(f)))
      .map((f) => relative(core, f))
    expect(offenders).toEqual([])
  })

  it.each(FORBIDDEN)('uses no %s', (_what, pattern) => {
    const offenders = files.filter((f) => pattern.test(code(f))).map((f) => relative(core, f))
    expect(offenders).toEqual([])
  })
})
