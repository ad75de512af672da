/**
 * The single-file Node bundle, copied alone (with the ORT .wasm and its
 * glue) into an empty directory: `predict` with exit codes, and `run` with
 * the local HTTP API and an update from a real HTTP model server.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildAgent, DIST } from '../../edge-agent/scripts/build.ts'
import { type ModelServer, startModelServer } from '../../edge-agent/test/support/model-server.ts'
import {
  generateTestKey,
  modelsDir,
  publishVariant,
  readCommittedManifest,
  type TestKey,
} from '../../edge-agent/test/support/signing.ts'
import { collectEvents } from '../support/child-events.ts'

const wineInput = readCommittedManifest('wine').golden.vectors[0]!.input

let dir: string
let server: ModelServer
let key: TestKey

beforeAll(async () => {
  await buildAgent()
  dir = mkdtempSync(join(tmpdir(), 'agent-bundle-'))
  mkdirSync(join(dir, 'bin'))
  cpSync(join(DIST, 'node'), join(dir, 'bin'), { recursive: true })
  key = generateTestKey()
  mkdirSync(join(dir, 'www'))
  publishVariant(join(dir, 'www'), 'wine', key, (m) => (m.version = 2))
  server = await startModelServer(join(dir, 'www'))
}, 120_000)

afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'kafka-edge-agent.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
  })
  return { status: r.status, stdout: r.stdout, error: r.stderr ? JSON.parse(r.stderr).error : undefined }
}

describe('the Node bundle alone in a directory', () => {
  it('holds only the bundle and the ORT files', () => {
    expect(readdirSync(join(dir, 'bin')).sort()).toEqual([
      'kafka-edge-agent.mjs',
      'ort-wasm-simd-threaded.mjs',
      'ort-wasm-simd-threaded.wasm',
    ])
  })

  it('predicts with a model folder', () => {
    const r = cli('predict', '--model', join(modelsDir, 'wine'), '--input', JSON.stringify(wineInput))
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ outputs: { label: 'class_0' }, model: { name: 'wine', version: 1 } })
  })

  it.each([
    [['predict', '--model', join(modelsDir, 'wine'), '--input', '{"alcohol": 1}'], 3, 'E_FEATURE_MISSING'],
    [['predict', '--model', join(modelsDir, 'wine'), '--input', '{oops'], 3, 'E_JSON'],
    [['predict', '--model', modelsDir, '--input', '{}'], 4, 'E_MANIFEST_MISSING'],
    [['predict', '--model', join(modelsDir, 'wine')], 2, 'E_USAGE'],
    [['launch'], 2, 'E_USAGE'],
    [['run', '--config', 'missing.json'], 2, 'E_CONFIG'],
  ])('%j exits %i with %s', (args, status, code) => {
    const r = cli(...args)
    expect(r.status).toBe(status)
    expect(r.error).toMatchObject({ code })
  })

  it('prints --help', () => {
    const r = cli('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('Exit codes')
  })

  it('runs: local HTTP API on 127.0.0.1, installs the update, stops on SIGTERM', async () => {
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        dataDir: 'data',
        http: { port: 0 },
        publicKeys: { test: key.publicPem },
        updates: { manifestUrl: `${server.url}/wine/2/manifest.json`, intervalSeconds: 3600 },
        // The link retries an unreachable bridge in the background; nothing waits on it.
        bridge: { url: 'ws://example.invalid', token: 'not-a-real-token' },
      }),
    )
    const child: ChildProcess = spawn(
      process.execPath,
      [join(dir, 'bin', 'kafka-edge-agent.mjs'), 'run', '--config', 'agent.json'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const agent = collectEvents(child, 'agent')
    const waitFor = (name: string) => agent.waitFor((e) => e.event === name)
    const exited = agent.exited
    const { url } = (await waitFor('listening')) as { url: string }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await waitFor('activated')).toMatchObject({ name: 'wine', version: 2 })

    const post = (body: string) => fetch(`${url}/predict`, { method: 'POST', body })
    const ok = await post(JSON.stringify({ input: wineInput }))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ outputs: { label: 'class_0' }, model: { version: 2 } })
    const missing = await post(JSON.stringify({ input: { alcohol: 1 } }))
    expect([missing.status, ((await missing.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'E_FEATURE_MISSING',
    ])
    const garbage = await post('{')
    expect([garbage.status, ((await garbage.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'E_JSON',
    ])
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({
      status: 'ok',
      model: { name: 'wine', version: 2 },
    })
    const models = (await (await fetch(`${url}/models`)).json()) as Record<string, unknown>
    expect(models).toMatchObject({ current: { name: 'wine', version: 2 }, state: { highestSeen: { wine: 2 } } })
    expect((await fetch(`${url}/nope`)).status).toBe(404)
    // The bridge is unreachable: the prediction above waits in the outbox.
    const link = (await (await fetch(`${url}/link`)).json()) as { online: boolean; outbox: { depth: number } }
    expect(link).toMatchObject({ online: false, outbox: { depth: 1 } })

    child.kill('SIGTERM')
    expect(await exited).toBe('0')
  })
})
