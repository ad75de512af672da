import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { recordBatchPlugin, withRecordBatchEncoder } from './record-batch-plugin.ts'

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

  it('stops a build that does not bundle the client, rather than ship one without the encoder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'record-batch-plugin-'))
    await writeFile(join(dir, 'entry.js'), 'export const x = 1\n')
    const building = build({
      entryPoints: [join(dir, 'entry.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [recordBatchPlugin()],
    })
    await expect(building).rejects.toThrow(/E_BUILD_RECORD_BATCH: the bundle did not include/)
  })
})
