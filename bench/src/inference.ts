// npm run bench -- inference   (or: npx tsx bench/src/inference.ts)
//
// The edge agent's on-device inference, on the Node bundle exactly as it ships
// (edge-agent/dist/node, built here and copied alone into a temporary folder):
//   cold_start_ms        process start -> prediction printed, offline, `predict` with models/wine (median of 7)
//   <model>_web_p50_us   batch-1 p50 in onnxruntime-web, under the agent's V8 flags (--liftoff-only)
//   <model>_native_p50_us  the same file in native onnxruntime-node, same process, same run
//                        (both warmed, then measured in alternating blocks of 300 runs, 3000 each)
//   web_to_native_ratio  the worst web/native p50 ratio over the shipped int8 models
//   *_turbofan_*         the same with V8's default tiering, for the trade-off in docs/agent.md
//   rss_mb               VmRSS of `kafka-edge-agent run` serving the bundled model after 500 predictions
//   bundle_kb_gz         the agent's own JavaScript (no onnxruntime-web, no TF.js), gzip
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { buildAgent, DIST } from '../../edge-agent/scripts/build.ts'
import { type BenchResult, writeResult } from './report.ts'
import { repoRoot } from './stack.ts'

export const inferenceTargets = { cold_start_ms: 400, web_to_native_ratio: 2, rss_mb: 100, bundle_kb_gz: 60 }

const models = join(repoRoot, 'models')
const wineInput = JSON.parse(readFileSync(join(models, 'wine', 'manifest.json'), 'utf8')).golden.vectors[0].input
const LATENCY_FILES = [
  'wine/model.int8.onnx',
  'vibration-anomaly/model.int8.onnx',
  'wine/model.onnx',
  'vibration-anomaly/model.onnx',
]
const log = (msg: string) => process.stderr.write(`[inference] ${msg}\n`)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const key = (file: string) => file.replace('/model', '').replace('.onnx', '').replace(/[-.]/g, '_')

/** Child mode: p50 latencies of web and native, printed as one JSON line. */
async function latencies(): Promise<void> {
  if (process.env.INFERENCE_BENCH_V8 !== '') setFlagsFromString(process.env.INFERENCE_BENCH_V8 ?? '')
  const { Engines } = await import('../../edge-agent/src/core/engines/engine.ts')
  const { nodeOnnxWasm } = await import('../../edge-agent/src/node/onnx-wasm.ts')
  const native = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-web')
  const web = await new Engines({ threads: 1, onnxWasm: nodeOnnxWasm }).get('onnx')
  const cases: { file: string; web: () => Promise<unknown>; native: () => Promise<unknown> }[] = []
  for (const file of LATENCY_FILES) {
    const bytes = new Uint8Array(readFileSync(join(models, file)))
    const width = file.startsWith('wine') ? 13 : 256
    const name = file.startsWith('wine') ? 'features' : 'window'
    const data = Float32Array.from({ length: width }, (_, i) =>
      file.startsWith('wine') ? (wineInput[Object.keys(wineInput)[i] as string] as number) : Math.sin(i / 5),
    )
    const manifest = { name: 'bench', version: 1, entry: file } as never
    const w = await web.load(manifest, new Map([[file, bytes]]))
    const n = await native.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
    cases.push({
      file,
      web: () => w.run({ [name]: { data, dims: [1, width] } }),
      native: () => n.run({ [name]: new native.Tensor('float32', data, [1, width]) }),
    })
  }
  // Warm every model first: V8 optimizes the JavaScript around the runtimes
  // only after some thousands of runs, which would otherwise fall on the first model measured.
  for (const c of cases) {
    for (let i = 0; i < 1000; i++) {
      await c.web()
      await c.native()
    }
  }
  const out: Record<string, number> = {}
  for (const c of cases) {
    // In alternating blocks of 300 runs: on a shared, noisy machine both see
    // the same bursts of load, while each keeps the caches to itself as it
    // would on a device (run by run, they evict each other: both slow down).
    const times = { web: [] as number[], native: [] as number[] }
    for (let block = 0; block < 10; block++) {
      for (const label of ['web', 'native'] as const) {
        for (let i = 0; i < 300; i++) {
          const t = performance.now()
          await c[label]()
          times[label].push(performance.now() - t)
        }
      }
    }
    for (const label of ['web', 'native'] as const) {
      out[`${key(c.file)}_${label}_p50_us`] = Math.round(median(times[label]) * 1000 * 10) / 10
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

function latencyChild(v8Flags: string): Record<string, number> {
  const text = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, INFERENCE_BENCH_CHILD: '1', INFERENCE_BENCH_V8: v8Flags },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  })
  return JSON.parse(text.trim().split('\n').at(-1) as string)
}

async function rssOfRunningAgent(bin: string, dir: string): Promise<number> {
  writeFileSync(join(dir, 'agent.json'), JSON.stringify({ dataDir: 'data', http: { port: 0 } }))
  const child: ChildProcess = spawn(process.execPath, [bin, 'run', '--config', 'agent.json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /"event":"listening","url":"([^"]+)"/.exec(out)
        if (m?.[1]) resolve(m[1])
      })
      child.once('exit', () => reject(new Error(`agent exited: ${out}`)))
    })
    for (let i = 0; i < 500; i++) {
      const r = await fetch(`${url}/predict`, { method: 'POST', body: JSON.stringify({ input: wineInput }) })
      if (r.status !== 200) throw new Error(`predict: ${r.status} ${await r.text()}`)
    }
    await new Promise((r) => setTimeout(r, 500))
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024)
  } finally {
    child.kill('SIGTERM')
  }
}

export async function inference(): Promise<BenchResult> {
  log('building edge-agent/dist')
  const sizes = await buildAgent()
  const dir = mkdtempSync(join(tmpdir(), 'bench-inference-'))
  try {
    cpSync(join(DIST, 'node'), dir, { recursive: true })
    const bin = join(dir, 'kafka-edge-agent.mjs')
    log('cold start (7 runs)')
    const starts: number[] = []
    for (let i = 0; i < 7; i++) {
      const t = performance.now()
      const out = execFileSync(
        process.execPath,
        [bin, 'predict', '--model', join(models, 'wine'), '--input', JSON.stringify(wineInput)],
        { cwd: dir, encoding: 'utf8' },
      )
      starts.push(performance.now() - t)
      if (!out.includes('class_0')) throw new Error(`unexpected prediction: ${out}`)
    }
    log('latencies: agent flags (--liftoff-only), then V8 defaults')
    const liftoff = latencyChild('--liftoff-only')
    const turbofan = latencyChild('')
    const ratios = ['wine/model.int8.onnx', 'vibration-anomaly/model.int8.onnx'].map(
      (f) => (liftoff[`${key(f)}_web_p50_us`] as number) / (liftoff[`${key(f)}_native_p50_us`] as number),
    )
    log('RSS of a running agent')
    const rss = await rssOfRunningAgent(bin, dir)
    return {
      cold_start_ms: Math.round(median(starts)),
      web_to_native_ratio: Math.round(Math.max(...ratios) * 100) / 100,
      rss_mb: rss,
      bundle_kb_gz: Math.round((sizes.nodeOwnGz / 1024) * 10) / 10,
      browser_bundle_kb_gz: Math.round((sizes.browserOwnGz / 1024) * 10) / 10,
      node_bundle_with_runtimes_kb_gz: Math.round(sizes.nodeBundleGz / 1024),
      ...liftoff,
      ...Object.fromEntries(Object.entries(turbofan).map(([k, v]) => [k.replace('_p50_us', '_turbofan_p50_us'), v])),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.env.INFERENCE_BENCH_CHILD === '1') await latencies()
  else writeResult('inference', await inference())
}
