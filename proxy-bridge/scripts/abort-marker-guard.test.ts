import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { abortMarkerGuardPlugin, withAbortMarkerGuard } from './abort-marker-guard.ts'

// What the fix does against the broker: test/integration/log-reader.test.ts.
const clientConsumer = join(
  dirname(createRequire(import.meta.url).resolve('@platformatic/kafka')),
  'clients',
  'consumer',
  'consumer.js',
)

describe('withAbortMarkerGuard', () => {
  it("guards the installed client's abort marker lookup", async () => {
    const patched = withAbortMarkerGuard(await readFile(clientConsumer, 'utf8'))
    expect(patched).not.toContain('abortedRanges.get(batch.producerId)[1]')
    expect(patched).toContain('if (abortedRange) abortedRange[1] = batch.firstOffset;')
  })

  it('stops the build with E_BUILD_ABORT_MARKERS when a client version changed what it edits', async () => {
    const source = await readFile(clientConsumer, 'utf8')
    const changed = source.replace('abortedRanges.get(batch.producerId)[1]', 'abortedRanges.get(batch.producerId)?.[1]')
    expect(() => withAbortMarkerGuard(changed)).toThrow(/E_BUILD_ABORT_MARKERS: .*exactly once/)
  })

  it('stops a build that does not bundle the client', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abort-marker-guard-'))
    await writeFile(join(dir, 'entry.js'), 'export const x = 1\n')
    const building = build({
      entryPoints: [join(dir, 'entry.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [abortMarkerGuardPlugin()],
    })
    await expect(building).rejects.toThrow(/E_BUILD_ABORT_MARKERS: the bundle did not include/)
  })
})
