import { createHash, generateKeyPairSync } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signManifest } from '@kafka-edge/models/manifest-signing'
import type { Bridge } from '@kafka-edge/proxy-bridge'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceToken, dropTopics, isolatedTopics, startTestBridge } from '../support/bridge.ts'
import { brokers, readTopic } from '../support/kafka.ts'
import {
  cliConfigFile,
  cliFlags,
  modelBridgeOverrides,
  modelCopy,
  modelsCli,
  modelsDir,
  publishModel,
} from '../support/models.ts'
import { eventually } from '../support/eventually.ts'

const topics = isolatedTopics()
const config = cliConfigFile(topics)
const wineBytes = readFileSync(join(modelsDir, 'wine', 'model.int8.onnx'))
const vibrationBytes = readFileSync(join(modelsDir, 'vibration-anomaly', 'model.int8.onnx'))
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

let bridge: Bridge
let token: string
const started: Bridge[] = []

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } })
}

/** Waits until the bridge serves the file (its chunks read, joined and verified). */
async function served(base: string, path: string): Promise<Response> {
  return eventually(
    async () => {
      const res = await get(base, path)
      if (res.status === 200) return res
      await res.arrayBuffer()
      return undefined
    },
    30_000,
    `${path} served by ${base}`,
  )
}

beforeAll(async () => {
  token = await deviceToken('press-01')
  bridge = await startTestBridge(topics, modelBridgeOverrides())
  started.push(bridge)
  const result = await modelsCli(['publish', join(modelsDir, 'wine'), ...cliFlags(config)])
  expect(result.stderr + result.stdout).toContain('published wine v1')
  expect(result.code).toBe(0)
})

afterAll(async () => {
  for (const b of started) await b.close()
  await dropTopics(topics)
})

describe('publish, list, download', () => {
  it('lists the published model and serves its signed manifest with an ETag', async () => {
    const list = await eventually(async () => {
      const res = await get(bridge.url, '/v1/models')
      const body = (await res.json()) as { models?: { name: string; version: number }[] }
      return body.models?.some((m) => m.name === 'wine') ? body : undefined
    })
    expect(list.models?.find((m) => m.name === 'wine')).toMatchObject({ name: 'wine', version: 1 })

    const res = await get(bridge.url, '/v1/models/wine/manifest')
    expect(res.status).toBe(200)
    const etag = res.headers.get('etag') as string
    expect(etag).toMatch(/^"wine-1-/)
    expect(await res.json()).toEqual(JSON.parse(readFileSync(join(modelsDir, 'wine', 'manifest.json'), 'utf8')))

    const again = await get(bridge.url, '/v1/models/wine/manifest', { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
  })

  it('serves byte-identical files with immutable caching, and resumes a download with Range', async () => {
    const res = await served(bridge.url, '/v1/models/wine/1/files/model.int8.onnx')
    expect(res.headers.get('etag')).toBe(`"${sha256(wineBytes)}"`)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const whole = Buffer.from(await res.arrayBuffer())
    expect(whole.equals(wineBytes)).toBe(true)

    // A download cut after 1000 bytes resumes where it stopped.
    const head = whole.subarray(0, 1000)
    const rest = await get(bridge.url, '/v1/models/wine/1/files/model.int8.onnx', {
      range: 'bytes=1000-',
      'if-range': res.headers.get('etag') as string,
    })
    expect(rest.status).toBe(206)
    expect(rest.headers.get('content-range')).toBe(`bytes 1000-${wineBytes.length - 1}/${wineBytes.length}`)
    expect(Buffer.concat([head, Buffer.from(await rest.arrayBuffer())]).equals(wineBytes)).toBe(true)

    const beyond = await get(bridge.url, '/v1/models/wine/1/files/model.int8.onnx', {
      range: `bytes=${wineBytes.length}-`,
    })
    expect(beyond.status).toBe(416)
    expect(((await beyond.json()) as { code: string }).code).toBe('E_RANGE_NOT_SATISFIABLE')
  })

  it('answers every bad request with a code', async () => {
    const cases: [string, number, string][] = [
      ['/v1/models/wine/1/files/model.onnx', 404, 'E_MODEL_FILE_MISSING'],
      ['/v1/models/wine/1/files/..%2F..%2Fmanifest.json', 400, 'E_PATH_INVALID'],
      ['/v1/models/wine/1/files/sub%2F%2Fmodel.int8.onnx', 400, 'E_PATH_INVALID'],
      ['/v1/models/wine/7/files/model.int8.onnx', 404, 'E_MODEL_UNKNOWN'],
      ['/v1/models/nope/manifest', 404, 'E_MODEL_UNKNOWN'],
    ]
    for (const [path, status, code] of cases) {
      const res = await get(bridge.url, path)
      expect(res.status, path).toBe(status)
      expect(((await res.json()) as { code: string }).code, path).toBe(code)
    }
    const anonymous = await fetch(`${bridge.url}/v1/models`)
    expect(anonymous.status).toBe(401)
    expect(((await anonymous.json()) as { code: string }).code).toBe('E_AUTH_REQUIRED')
  })
})

describe('a bridge started afterwards', () => {
  it('serves the same model from Kafka alone, with an empty cache', async () => {
    const second = await startTestBridge(topics, modelBridgeOverrides())
    started.push(second)
    const res = await served(second.url, '/v1/models/wine/1/files/model.int8.onnx')
    expect(Buffer.from(await res.arrayBuffer()).equals(wineBytes)).toBe(true)
  })
})

describe('refusals by the CLI', () => {
  it('refuses a version that is not newer (exit 3, E_MODEL_VERSION_NOT_NEWER)', async () => {
    const result = await modelsCli(['publish', join(modelsDir, 'wine'), '--quiet', ...cliFlags(config)])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('E_MODEL_VERSION_NOT_NEWER')
  })

  it('refuses a manifest changed after signing (exit 3, E_SIGNATURE_INVALID)', async () => {
    const dir = modelCopy('wine', (m) => {
      m.version = 5
    })
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { rollout: { percent: number } }
    manifest.rollout.percent = 1
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest))
    const result = await modelsCli(['publish', dir, '--quiet', ...cliFlags(config)])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('E_SIGNATURE_INVALID')
  })

  it('refuses an unknown signing key and a missing file (exit 3)', async () => {
    const keys = modelCopy('wine')
    const other = generateKeyPairSync('ed25519').privateKey
    const manifest = JSON.parse(readFileSync(join(keys, 'manifest.json'), 'utf8')) as { version: number }
    writeFileSync(
      join(keys, 'manifest.json'),
      JSON.stringify(signManifest({ ...manifest, version: 6 }, other, 'other')),
    )
    const unknownKey = await modelsCli(['publish', keys, '--quiet', ...cliFlags(config)])
    expect(unknownKey.code).toBe(3)
    expect(unknownKey.stderr).toContain('E_SIGNING_KEY_UNKNOWN')

    const missing = modelCopy('wine', (m) => {
      m.version = 6
    })
    rmSync(join(missing, 'model.int8.onnx'))
    const result = await modelsCli(['publish', missing, '--quiet', ...cliFlags(config)])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('E_MODEL_FILE_MISSING')
  })
})

describe('a chunk tampered with in Kafka', () => {
  it('is never served: a fresh bridge refuses the file, a bridge that verified it keeps the true bytes', async () => {
    await publishModel(join(modelsDir, 'vibration-anomaly'), config)
    const path = '/v1/models/vibration-anomaly/1/files/model.int8.onnx'
    await (await served(bridge.url, path)).arrayBuffer()

    // Rewrite chunk 0 under its key, in its partition, with a matching chunk
    // sha256 header: only the signed manifest's file hash can catch it.
    const chunks = await readTopic(topics.modelChunks, { idleMs: 1000 })
    const original = chunks.find((m) => m.key?.toString() === 'vibration-anomaly/1/model.int8.onnx/0')
    expect(original).toBeDefined()
    const evil = Buffer.from(original?.value as Buffer)
    evil[100] = (evil[100] as number) ^ 0xff
    const producer = new Producer({ clientId: 'tamper', bootstrapBrokers: brokers(), acks: ProduceAcks.ALL })
    await producer.send({
      messages: [
        {
          topic: topics.modelChunks,
          partition: original?.partition as number,
          key: original?.key as Buffer,
          value: evil,
          headers: new Map([
            [Buffer.from('chunks'), Buffer.from('1')],
            [Buffer.from('sha256'), Buffer.from(sha256(evil))],
          ]),
        },
      ],
    })
    await producer.close()

    const fresh = await startTestBridge(topics, modelBridgeOverrides())
    started.push(fresh)
    const refused = await eventually(async () => {
      const res = await get(fresh.url, path)
      const body = (await res.json()) as { code: string; message: string }
      return res.status === 409 && body.message.includes('tampered') ? body : undefined
    })
    expect(refused.code).toBe('E_MODEL_FILE_UNVERIFIED')

    const kept = await get(bridge.url, path)
    expect(Buffer.from(await kept.arrayBuffer()).equals(vibrationBytes)).toBe(true)
  })
})
