import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { clientEditFor, clientEditPlugins } from './client-edits.ts'

describe('client edits', () => {
  it('find the edit by the module path, on either path separator, and none for other modules', () => {
    expect(clientEditFor('/n/node_modules/@platformatic/kafka/dist/protocol/records.js')).toBeTypeOf('function')
    expect(clientEditFor('C:\\n\\node_modules\\@platformatic\\kafka\\dist\\clients\\consumer\\consumer.js')).toBeTypeOf(
      'function',
    )
    expect(clientEditFor('/n/node_modules/@platformatic/kafka/dist/clients/producer/producer.js')).toBeUndefined()
  })

  const plugins = clientEditPlugins()
  it.each([
    ['E_BUILD_RECORD_BATCH', 0],
    ['E_BUILD_ABORT_MARKERS', 1],
  ] as const)('%s stops a build that does not bundle the client, rather than ship it unedited', async (code, i) => {
    expect(plugins).toHaveLength(2)
    const dir = await mkdtemp(join(tmpdir(), 'client-edits-'))
    await writeFile(join(dir, 'entry.js'), 'export const x = 1\n')
    const building = build({
      entryPoints: [join(dir, 'entry.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [plugins[i] as (typeof plugins)[number]],
    })
    await expect(building).rejects.toThrow(new RegExp(`${code}: the bundle did not include`))
  })
})
