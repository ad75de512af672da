/**
 * npm run build -w proxy-bridge: the bridge as one JavaScript file, with esbuild.
 *
 *   dist/kafka-edge-bridge.mjs   the `kafka-edge-bridge` command, for production: run it with
 *                                `node --max-semi-space-size=32 --no-allocation-site-pretenuring proxy-bridge/dist/kafka-edge-bridge.mjs`
 *
 * The workspace's own TypeScript (the bridge, the protocol, the model tools)
 * and the Kafka client are compiled in, the client with the bridge's record
 * batch encoder and abort marker fix (client-edits.ts); other npm packages stay external
 * and load from node_modules.
 * `bin/kafka-edge-bridge.js` runs the sources through tsx instead: right for
 * development, but the loader's worker thread and source maps cost ~40 MB of
 * RSS and CPU on every error (docs/operations.md, "Running the bridge").
 */

import { randomUUID } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { clientEditPlugins } from './client-edits.ts'

const BRIDGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Compiled into the bundle; every other package is imported from node_modules at run time. */
const BUNDLED = ['@kafka-edge', '@platformatic/kafka']

/**
 * V8 flags the bridge runs with (docs/operations.md, "Running the bridge").
 * A 32 MB young generation lets records that live for one transaction (tens
 * of ms) die young instead of being copied into the old generation: GC time
 * fell from ~60 to ~25 ms per second of load; 64 MB added ~80 MB of RSS for
 * little more. Without allocation-site pretenuring, V8 no longer decides,
 * while a burst keeps many records in flight, to allocate every later record
 * straight into the old generation: GC at 84,000 records/s fell from 31-41 to
 * 12-19 ms per second, peak RSS by ~35 MB.
 */
export const BRIDGE_NODE_FLAGS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring']

const builds = new Map<string, Promise<string>>()

/**
 * Builds `<root>/dist/kafka-edge-bridge.mjs` once per process and returns its
 * path; `root` lets a benchmark build another copy.
 */
export function buildBridge(root = BRIDGE_ROOT): Promise<string> {
  let built = builds.get(root)
  if (!built) {
    built = buildOnce(root)
    builds.set(root, built)
    built.catch(() => builds.delete(root))
  }
  return built
}

async function buildOnce(root: string): Promise<string> {
  const outfile = join(root, 'dist', 'kafka-edge-bridge.mjs')
  const result = await build({
    entryPoints: [join(root, 'src', 'cli.ts')],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [
      {
        name: 'npm-packages-external',
        setup(b) {
          // Workspace packages export TypeScript: compile them in, and the Kafka client for
          // its edits (client-edits.ts). Everything else loads from node_modules.
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            BUNDLED.some((name) => args.path === name || args.path.startsWith(`${name}/`))
              ? undefined
              : { path: args.path, external: true },
          )
        },
      },
      ...clientEditPlugins(join(root, 'src', 'kafka', 'record-batch.ts')),
    ],
    banner: {
      js: `#!/usr/bin/env -S node ${BRIDGE_NODE_FLAGS.join(' ')}`,
    },
  })
  // Test files run in parallel, and each may build and start the bridge: every
  // file is written under a temporary name and renamed over the last, so a
  // bridge starting meanwhile never reads half of one.
  mkdirSync(dirname(outfile), { recursive: true })
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${randomUUID()}.tmp`
    writeFileSync(temporary, file.contents)
    renameSync(temporary, file.path)
  }
  return outfile
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outfile = await buildBridge()
  process.stdout.write(`built ${outfile}\n`)
}
