/**
 * npm run build -w edge-agent: the agent's bundles, with esbuild.
 *
 *   dist/node/kafka-edge-agent.mjs   single-file Node bundle (the CLI); beside it the two
 *                                    onnxruntime-web files it loads: the .wasm and its glue .mjs
 *   dist/browser/agent.mjs           browser ESM bundle (createBrowserAgent); runtimes in lazy chunks,
 *                                    the .wasm beside them
 *
 * Then a size report: the agent's own JavaScript without onnxruntime-web
 * and TensorFlow.js, gzipped, against the 60 KB budget.
 */

import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { type BuildOptions, build } from 'esbuild'

export const AGENT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const DIST = join(AGENT_ROOT, 'dist')
export const OWN_CODE_BUDGET_GZ = 60 * 1024
const RUNTIMES = ['onnxruntime-web', '@tensorflow/*']

const nodeOptions: BuildOptions = {
  entryPoints: [join(AGENT_ROOT, 'src/node/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  mainFields: ['module', 'main'],
  legalComments: 'none',
  // CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "import{createRequire as __agentRequire}from'node:module';const require=__agentRequire(import.meta.url);",
  },
  logLevel: 'warning',
}

const browserOptions: BuildOptions = {
  entryPoints: { agent: join(AGENT_ROOT, 'src/browser/agent.ts') },
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  splitting: true,
  legalComments: 'none',
  outExtension: { '.js': '.mjs' },
  // The default export of onnxruntime-web loads the WebGPU/JSEP build
  // (ort-wasm-simd-threaded.jsep.wasm); the agent runs the plain WASM one it ships.
  alias: { 'onnxruntime-web': 'onnxruntime-web/wasm' },
  logLevel: 'warning',
}

export interface SizeReport {
  nodeOwnGz: number
  browserOwnGz: number
  nodeBundleBytes: number
  nodeBundleGz: number
}

/** The agent's own code (runtimes external), gzipped, per target. Fast: no files written. */
export async function measureOwnCode(): Promise<{ nodeOwnGz: number; browserOwnGz: number }> {
  const [node, browser] = await Promise.all([
    build({ ...nodeOptions, external: RUNTIMES, write: false, outfile: 'own-node.mjs' }),
    build({
      ...browserOptions,
      splitting: false,
      external: RUNTIMES,
      write: false,
      outfile: 'own-browser.mjs',
      entryPoints: browserOptions.entryPoints,
    }),
  ])
  const gz = (files: { contents: Uint8Array }[]) =>
    files.reduce((n, f) => n + gzipSync(f.contents, { level: 9 }).length, 0)
  return { nodeOwnGz: gz(node.outputFiles), browserOwnGz: gz(browser.outputFiles) }
}

export async function buildAgent(): Promise<SizeReport> {
  rmSync(DIST, { recursive: true, force: true })
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))
  const nodeOut = join(DIST, 'node')
  await build({ ...nodeOptions, outfile: join(nodeOut, 'kafka-edge-agent.mjs') })
  for (const file of ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'])
    copyFileSync(join(ortDist, file), join(nodeOut, file))
  await build({ ...browserOptions, outdir: join(DIST, 'browser') })
  mkdirSync(join(DIST, 'browser'), { recursive: true })
  copyFileSync(join(ortDist, 'ort-wasm-simd-threaded.wasm'), join(DIST, 'browser', 'ort-wasm-simd-threaded.wasm'))
  const bytes = readFileSync(join(nodeOut, 'kafka-edge-agent.mjs'))
  return {
    ...(await measureOwnCode()),
    nodeBundleBytes: bytes.length,
    nodeBundleGz: gzipSync(bytes, { level: 9 }).length,
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await buildAgent()
  const over = Math.max(report.nodeOwnGz, report.browserOwnGz) > OWN_CODE_BUDGET_GZ
  console.log(`edge-agent build (dist/)
  node bundle   dist/node/kafka-edge-agent.mjs  ${kb(report.nodeBundleBytes)} (${kb(report.nodeBundleGz)} gzip, runtimes included)
  agent's own code, gzip, without onnxruntime-web and TF.js:
    node        ${kb(report.nodeOwnGz)}
    browser     ${kb(report.browserOwnGz)}
  budget        ${kb(OWN_CODE_BUDGET_GZ)} ${over ? 'EXCEEDED' : 'ok'}`)
  if (over) process.exitCode = 1
}
