/**
 * The agent's own JavaScript, without onnxruntime-web and TensorFlow.js,
 * stays within 60 KB gzip for Node and for browsers; and the bundled
 * default model is the committed models/wine.
 */

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { measureOwnCode, OWN_CODE_BUDGET_GZ } from '../scripts/build.ts'
import { bundledModel } from '../src/core/bundled-model.ts'
import { modelsDir } from './support/signing.ts'

describe('bundles', () => {
  it('keep the agent’s own code within the gzip budget', async () => {
    const { nodeOwnGz, browserOwnGz } = await measureOwnCode()
    expect(nodeOwnGz).toBeLessThanOrEqual(OWN_CODE_BUDGET_GZ)
    expect(browserOwnGz).toBeLessThanOrEqual(OWN_CODE_BUDGET_GZ)
  })

  it('embed models/wine as the default model (npm run embed-model -w edge-agent after a change)', async () => {
    const { manifest, files } = await bundledModel()
    expect(manifest).toEqual(JSON.parse(readFileSync(join(modelsDir, 'wine', 'manifest.json'), 'utf8')))
    for (const file of manifest.files)
      expect(
        Buffer.from(files.get(file.path) ?? []).equals(readFileSync(join(modelsDir, 'wine', file.path))),
        file.path,
      ).toBe(true)
  })
})
