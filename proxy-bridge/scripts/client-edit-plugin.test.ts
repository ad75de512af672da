import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { abortMarkerGuardPlugin } from './abort-marker-guard.ts'
import { recordBatchPlugin } from './record-batch-plugin.ts'

describe('client edit plugins', () => {
  it.each<[string, Plugin, RegExp]>([
    ['the record batch encoder', recordBatchPlugin(), /E_BUILD_RECORD_BATCH: the bundle did not include/],
    ['the abort marker guard', abortMarkerGuardPlugin(), /E_BUILD_ABORT_MARKERS: the bundle did not include/],
  ])('stop a build that does not bundle the client, rather than ship it without %s', async (_, plugin, error) => {
    const dir = await mkdtemp(join(tmpdir(), 'client-edit-plugin-'))
    await writeFile(join(dir, 'entry.js'), 'export const x = 1\n')
    const building = build({
      entryPoints: [join(dir, 'entry.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [plugin],
    })
    await expect(building).rejects.toThrow(error)
  })
})
