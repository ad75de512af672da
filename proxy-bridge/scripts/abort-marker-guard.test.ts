import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withAbortMarkerGuard } from './abort-marker-guard.ts'

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
})
