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
}
export const downloadTargets = { mb_per_s: 200 }

const staticServer = `
const { createServer } = require('node:http'); const { createReadStream, statSync } = require('node:fs')
const file = process.env.FILE; const size = statSync(file).size
createServer((req, res) => { res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' })
  createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res) }).listen(Number(process.env.PORT), '127.0.0.1')`

/** Downloads `url` `rounds` times; MB/s over all of them, and the sha256 of the last body. */
async function measure(
  url: string,
  headers: Record<string, string>,
  rounds: number,
): Promise<{ mbPerS: number; sha256: string }> {
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
  const seconds = (performance.now() - started) / 1000
  return { mbPerS: bytes / 1e6 / seconds, sha256 }
}

export async function download(): Promise<BenchResult> {
  const td = new Teardown()
  try {
    const s = downloadSettings
    const { brokers } = await startKafka(td, 'download')
    const prefix = `download-${randomUUID().slice(0, 8)}`
    const bridge = await startBridgeProcess(td, { brokers, prefix, config: modelBridgeConfig('download') })
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
    log('bridge serves the file; warming up')
    await measure(url, headers, 2)
    const viaBridge = await measure(url, headers, s.rounds)
    if (viaBridge.sha256 !== model.sha256) throw new Error('the bridge served different bytes')

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
    await measure(refUrl, {}, 2)
    const bare = await measure(refUrl, {}, s.rounds)
    await reference.stop()
    const result: BenchResult = {
      benchmark: 'download',
      file_mb: s.megabytes,
      rounds: s.rounds,
      mb_per_s: round(viaBridge.mbPerS),
      bare_http_mb_per_s: round(bare.mbPerS),
      ratio: round(viaBridge.mbPerS / bare.mbPerS, 2),
      verified_sha256: true,
      target_mb_per_s: downloadTargets.mb_per_s,
    }
    log(`download: ${JSON.stringify(result)}`)
    return result
  } finally {
    await td.run()
  }
}
