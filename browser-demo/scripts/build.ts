/**
 * npm run build -w browser-demo: the page into dist/ with esbuild.
 *
 *   dist/index.html, style.css            the page (public/)
 *   dist/main.js + chunks                 the app and the agent; onnxruntime-web in a lazy chunk
 *   dist/ort-wasm-simd-threaded.wasm      the ONNX runtime, fetched beside its chunk
 *   dist/models/vibration-anomaly/        v1 of the vibration model: the page's offline fallback
 *
 * The trusted model keys are compiled in (DEMO_PUBLIC_KEYS): a page that
 * fetched them at run time would trust whoever serves that file.
 */

import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const DEMO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const DEMO_DIST = join(DEMO_ROOT, 'dist')
const MODELS = resolve(DEMO_ROOT, '../models')

export async function buildDemo(): Promise<string> {
  rmSync(DEMO_DIST, { recursive: true, force: true })
  mkdirSync(DEMO_DIST, { recursive: true })
  const publicKeys = { dev: readFileSync(join(MODELS, 'keys/dev-ed25519.public.pem'), 'utf8') }
  await build({
    entryPoints: { main: join(DEMO_ROOT, 'src/main.ts') },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    splitting: true,
    minify: true,
    sourcemap: true,
    outdir: DEMO_DIST,
    define: { DEMO_PUBLIC_KEYS: JSON.stringify(publicKeys) },
    // The CPU (wasm) build: its runtime is ort-wasm-simd-threaded.wasm (14 MB); the default
    // export is the WebGPU/JSEP build, whose 28 MB .wasm the agent's models never need.
    alias: { 'onnxruntime-web': 'onnxruntime-web/wasm' },
    legalComments: 'none',
    logLevel: 'warning',
  })
  cpSync(join(DEMO_ROOT, 'public'), DEMO_DIST, { recursive: true })
  const require = createRequire(join(DEMO_ROOT, '../edge-agent/package.json'))
  const ortDist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'))
  cpSync(join(ortDist, 'ort-wasm-simd-threaded.wasm'), join(DEMO_DIST, 'ort-wasm-simd-threaded.wasm'))
  const vibration = join(DEMO_DIST, 'models/vibration-anomaly')
  mkdirSync(vibration, { recursive: true })
  const manifest = JSON.parse(readFileSync(join(MODELS, 'vibration-anomaly/manifest.json'), 'utf8')) as {
    files: { path: string }[]
  }
  for (const file of ['manifest.json', ...manifest.files.map((f) => f.path)]) {
    cpSync(join(MODELS, 'vibration-anomaly', file), join(vibration, file))
  }
  return DEMO_DIST
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`browser-demo built into ${await buildDemo()}`)
}
