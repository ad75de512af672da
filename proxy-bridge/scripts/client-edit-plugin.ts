/**
 * An esbuild plugin that edits one module of @platformatic/kafka as the
 * bundle is built (record-batch-plugin.ts, abort-marker-guard.ts). A bundle
 * that never loaded the module stops the build with `notBundled`: the edit
 * would silently be missing from what ships.
 */

import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Plugin } from 'esbuild'

export function clientEditPlugin(
  name: string,
  module: RegExp,
  edit: (source: string) => string,
  notBundled: string,
): Plugin {
  return {
    name,
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
  }
}
