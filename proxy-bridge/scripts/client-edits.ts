/**
 * The bridge's edits to @platformatic/kafka, made to its modules as they
 * load: the record batch encoder (record-batch-edit.ts) and the abort marker
 * fix (abort-marker-guard.ts). One table, applied three ways: the production
 * build (`clientEditPlugins`), the bridge run from its sources
 * (client-edit-hooks.ts, registered by bin/) and the integration tests
 * (vitest.config.ts). A new edit is one more entry here.
 */

import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Plugin } from 'esbuild'
import { CONSUMER_MODULE, withAbortMarkerGuard } from './abort-marker-guard.ts'
import { ENCODER, RECORDS_MODULE, withRecordBatchEncoder } from './record-batch-edit.ts'

export interface ClientEdit {
  /** The client module the edit is for, matched against its path. */
  module: RegExp
  edit(source: string): string
  /** The build's error when the bundle never loaded the module: the edit would silently be missing. */
  notBundled: string
}

/** `encoderPath`: the record-batch.ts to compile in (a benchmark may build another copy of the bridge). */
export function clientEdits(encoderPath = ENCODER): ClientEdit[] {
  return [
    {
      module: RECORDS_MODULE,
      edit: (source) => withRecordBatchEncoder(source, encoderPath),
      notBundled:
        "E_BUILD_RECORD_BATCH: the bundle did not include @platformatic/kafka's protocol/records.js; is the client still bundled?",
    },
    {
      module: CONSUMER_MODULE,
      edit: withAbortMarkerGuard,
      notBundled:
        "E_BUILD_ABORT_MARKERS: the bundle did not include @platformatic/kafka's clients/consumer/consumer.js; is the client still bundled?",
    },
  ]
}

const shipped = clientEdits()

/** The edit for the module at `path`, if there is one. */
export function clientEditFor(path: string): ((source: string) => string) | undefined {
  return shipped.find((e) => e.module.test(path))?.edit
}

/** One esbuild plugin per edit; each stops the build if its module was not bundled. */
export function clientEditPlugins(encoderPath = ENCODER): Plugin[] {
  return clientEdits(encoderPath).map(({ module, edit, notBundled }) => ({
    name: `kafka-client-edit:${module.source}`,
    setup(build) {
      let patched = false
      build.onLoad({ filter: module }, async (args) => {
        patched = true
        const source = await readFile(args.path, 'utf8')
        return { contents: edit(source), loader: 'js', resolveDir: dirname(args.path) }
      })
      build.onEnd((result) => {
        if (result.errors.length === 0 && !patched) throw new Error(notBundled)
      })
    },
  }))
}
