// download: a 20 MB model file through the bridge (verified cache, ETag,
// immutable) on loopback, against a bare node:http static file server
// serving the same bytes in the same run (child process as well).
import { createHash, randomUUID } from 'node:crypto'
import { blobModel, modelBridgeConfig, publishModel } from './model-fixtures.ts'
import type { BenchResult } from './report.ts'
import { deviceToken, startBridgeProcess } from './bridge-process.ts'
import { log, pollUntil, spawnNode, startKafka, Teardown, envNumber } from './stack.ts'
import { round } from './stats.ts'
import { freePort } from '@kafka-edge/dev-kafka'

export const downloadSettings = {
  megabytes: envNumber('BENCH_DOWNLOAD_MB', 20),
  rounds: envNumber('BENCH_DOWNLOAD_ROUNDS', 10),
  /** Bridge and bare server take turns this many times, `rounds` downloads each. */
  turns: envNumber('BENCH_DOWNLOAD_TURNS', 3),
}
export const downloadTargets = { mb_per_s: 200 }

const staticServer = `
const { createServer } = require('node:http'); const { createReadStream, statSync } = require('node:fs')
const file = process.env.FILE; const size = statSync(file).size
createServer((req, res) => { res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' })
  createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res) }).listen(Number(process.env.PORT), '127.0.0.1')`

interface Measured {
  bytes: number
  seconds: number
  /** Of the last body. */
  sha256: string
}

/** Downloads `url` `rounds` times: the bytes, the time, and the sha256 of the last body. */
async function measure(url: string, headers: Record<string, string>, rounds: number): Promise<Measured> {
  let bytes = 0
  let sha256 = ''
  const started = performance.now()
  for (let i = 0; i < rounds; i++) {
    const res = await fetch(url, { headers })
    if (res.status !== 200 || !res.body) throw new Error(`GET ${url}: ${res.status}`)
    const hash = i === rounds - 1 ? createHash('sha256') : undefined
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length
      hash?.update(chunk)
    }
    if (hash) sha256 = hash.digest('hex')
  }
  return { bytes, seconds: (performance.now() - started) / 1000, sha256 }
}

/** MB/s over all turns together. */
function throughput(turns: Measured[]): number {
  let bytes = 0
  let seconds = 0
  for (const t of turns) {
    bytes += t.bytes
    seconds += t.seconds
  }
  return bytes / 1e6 / seconds
}

export async function download(): Promise<BenchResult> {
  const td = new Teardown()
  try {
    const s = downloadSettings
    const { brokers } = await startKafka(td, 'download')
    const prefix = `download-${randomUUID().slice(0, 8)}`
    const bridge = await startBridgeProcess(td, {
      brokers,
      prefix,
      config: modelBridgeConfig('download'),
      cpuProf: process.env.BENCH_CPU_PROF === '1',
    })
    const model = blobModel('bench-blob', s.megabytes * 1_000_000)
    log(`publishing a ${s.megabytes} MB model file`)
    await publishModel(model.dir, bridge, brokers)
    const url = `${bridge.url}/v1/models/bench-blob/1/files/blob.bin`
    const headers = { authorization: `Bearer ${await deviceToken('bench-downloader')}` }
    await pollUntil(
      async () => ((await fetch(url, { headers, method: 'HEAD' })).status === 200 ? true : undefined),
      120_000,
      'the bridge serving the verified file',
    )
    const port = await freePort()
    const reference = spawnNode(td, 'download-static', ['-e', staticServer], {
      env: { FILE: model.file, PORT: String(port) },
    })
    const refUrl = `http://127.0.0.1:${port}/blob.bin`
    await pollUntil(
      async () => ((await fetch(refUrl, { method: 'HEAD' }).catch(() => undefined))?.status === 200 ? true : undefined),
      30_000,
      'the static server listening',
    )
    log('both serve the file; warming up')
    await measure(url, headers, 2)
    await measure(refUrl, {}, 2)
    // Taking turns: whichever went first met the machine still busy after the publish (0.5-0.6 of
    // the later one, also for the same server), and the machine's speed drifts within a run.
    const viaBridge: Measured[] = []
    const bare: Measured[] = []
    for (let turn = 0; turn < s.turns; turn++) {
      viaBridge.push(await measure(url, headers, s.rounds))
      bare.push(await measure(refUrl, {}, s.rounds))
    }
    if (viaBridge.some((m) => m.sha256 !== model.sha256)) throw new Error('the bridge served different bytes')
    await reference.stop()
    const bridgeMbPerS = throughput(viaBridge)
    const bareMbPerS = throughput(bare)
    const result: BenchResult = {
      benchmark: 'download',
      file_mb: s.megabytes,
      rounds: s.rounds,
      turns: s.turns,
      mb_per_s: round(bridgeMbPerS),
      bare_http_mb_per_s: round(bareMbPerS),
      ratio: round(bridgeMbPerS / bareMbPerS, 2),
      verified_sha256: true,
      target_mb_per_s: downloadTargets.mb_per_s,
    }
    log(`download: ${JSON.stringify(result)}`)
    return result
  } finally {
    await td.run()
  }
}
