import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withRecordBatchEncoder } from './record-batch-edit.ts'

const clientRecords = join(
  dirname(createRequire(import.meta.url).resolve('@platformatic/kafka')),
  'protocol',
  'records.js',
)

describe('withRecordBatchEncoder', () => {
  it("routes the installed client's createRecordsBatch through the encoder, keeping its own as the fallback", async () => {
    const patched = withRecordBatchEncoder(await readFile(clientRecords, 'utf8'), '/x/record-batch.ts')
    expect(patched.match(/export function createRecordsBatch\(/g)).toHaveLength(1)
    expect(patched).toContain('function clientCreateRecordsBatch(messages, options = {}) {')
    expect(patched).toContain('import { encodeRecordBatch } from "/x/record-batch.ts";')
  })

  it('stops the build with E_BUILD_RECORD_BATCH when a client version changed what it edits', async () => {
    const source = await readFile(clientRecords, 'utf8')
    const renamed = source.replace(
      'export function createRecordsBatch(messages, options = {})',
      'export function createRecordsBatch(messages, options)',
    )
    expect(() => withRecordBatchEncoder(renamed)).toThrow(
      /E_BUILD_RECORD_BATCH: .*"export function createRecordsBatch\(messages, options = \{\}\) \{"/,
    )
    const noWriter = source.replace('import { Writer } from', 'import { Writer as W } from')
    expect(() => withRecordBatchEncoder(noWriter)).toThrow(/E_BUILD_RECORD_BATCH: .*"import \{ Writer \}"/)
  })
})
