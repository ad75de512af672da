/**
 * kill -9 of an agent process at every step of a model download and swap;
 * each time an offline restart boots a valid model and predicts, and a
 * later attempt completes the interrupted install (resuming the download).
 * The model server is a real HTTP server on 127.0.0.1; no Kafka needed.
 */

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTrustedKeys } from '../../edge-agent/src/core/models/keys.ts'
import { createNodeAgent } from '../../edge-agent/src/node/agent.ts'
import { type ModelServer, startModelServer } from '../../edge-agent/test/support/model-server.ts'
import {
  generateTestKey,
  publishVariant,
  readCommittedManifest,
  type TestKey,
} from '../../edge-agent/test/support/signing.ts'

const child = fileURLToPath(new URL('../support/model-agent-child.ts', import.meta.url))
const wineInput = readCommittedManifest('wine').golden.vectors[0]!.input

let root: string
let server: ModelServer
let key: TestKey

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agent-crash-'))
  mkdirSync(join(root, 'www'))
  key = generateTestKey()
  server = await startModelServer(join(root, 'www'))
  for (const version of [2, 3]) publishVariant(join(root, 'www'), 'wine', key, (m) => (m.version = version))
})

afterAll(async () => {
  await server.close()
  rmSync(root, { recursive: true, force: true })
})

interface ChildRun {
  events: Record<string, unknown>[]
  signal: string | null
}

/** Runs the child; `killWhen` may SIGKILL it from outside on an event. */
function runChild(
  dataDir: string,
  version: number,
  crashAt: string | undefined,
  killWhen?: (e: Record<string, unknown>) => boolean,
): Promise<ChildRun> {
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    MANIFEST_URL: `${server.url}/wine/${version}/manifest.json`,
    TARGET_VERSION: String(version),
    KEY_PEM: key.publicPem,
    ...(crashAt ? { CRASH_AT: crashAt } : {}),
  }
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const events: Record<string, unknown>[] = []
  let buffer = ''
  let stderr = ''
  proc.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  proc.stdout.on('data', (c: Buffer) => {
    buffer += c.toString()
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const event = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>
      buffer = buffer.slice(nl + 1)
      events.push(event)
      if (killWhen?.(event)) proc.kill('SIGKILL')
      nl = buffer.indexOf('\n')
    }
  })
  return new Promise((resolve, reject) => {
    proc.once('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child exited ${code}: ${stderr}`))
      else resolve({ events, signal })
    })
  })
}

/** Installs wine@version in this process (faster than a child where no crash is wanted). */
async function install(dataDir: string, version: number): Promise<unknown> {
  const agent = await createNodeAgent({ dataDir, publicKeys: parseTrustedKeys({ test: key.publicPem }) })
  await agent.start()
  const outcome = await agent.install({ manifestUrl: `${server.url}/wine/${version}/manifest.json` })
  await agent.close()
  return outcome
}

/** Boots offline in this process (no install) and predicts. */
async function offlineRestart(dataDir: string): Promise<{ version: number; source: string }> {
  const agent = await createNodeAgent({ dataDir, publicKeys: parseTrustedKeys({ test: key.publicPem }) })
  let source = ''
  agent.on('booted', (e) => {
    source = e.source
  })
  await agent.start()
  const result = await agent.predict(wineInput)
  expect(result.outputs.label).toBe('class_0')
  await agent.close()
  return { version: result.model.version, source }
}

function leftovers(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.includes('.tmp-'))
}

describe('kill -9 during a model install', () => {
  it('during the download: the current keeps booting; the next run resumes with a Range request', async () => {
    const dataDir = join(root, 'download')
    expect(await install(dataDir, 2)).toMatchObject({ outcome: 'activated' })
    server.throttle.delayMs = 25
    server.throttle.chunkBytes = 256
    const killed = await runChild(
      dataDir,
      3,
      undefined,
      (e) => e.event === 'download-progress' && Number(e.received) > 1000,
    )
    server.throttle.delayMs = 0
    expect(killed.signal).toBe('SIGKILL')
    expect(existsSync(join(dataDir, 'downloads', 'wine', '3', 'model.int8.onnx'))).toBe(true)
    expect(await offlineRestart(dataDir)).toEqual({ version: 2, source: 'current' })

    server.requests.length = 0
    expect(await install(dataDir, 3)).toMatchObject({ outcome: 'activated', model: { version: 3 } })
    expect(server.requests.some((r) => r.path === 'wine/3/model.int8.onnx' && /^bytes=\d+-$/.test(r.range ?? ''))).toBe(
      true,
    )
    expect((await offlineRestart(dataDir)).version).toBe(3)
  })

  it.each([
    ['before-promote', 2],
    ['after-promote', 2],
    ['in-state-write', 2],
    ['after-state', 3],
  ])(
    'at %s: an offline restart predicts with wine@%i, and the install completes afterwards',
    async (crashAt, expected) => {
      const dataDir = join(root, crashAt)
      await install(dataDir, 2)
      const run = await runChild(dataDir, 3, crashAt)
      expect(run.signal).toBe('SIGKILL')
      expect(run.events.at(-1)).toMatchObject({ event: 'crash', where: crashAt })
      expect(await offlineRestart(dataDir)).toMatchObject({ version: expected, source: 'current' })
      expect(leftovers(dataDir)).toEqual([])
      // Installing v3 again ends with v3 serving: activated now, or already there.
      const again = await install(dataDir, 3)
      expect(again).toMatchObject({ outcome: expected === 2 ? 'activated' : 'unchanged', model: { version: 3 } })
      expect((await offlineRestart(dataDir)).version).toBe(3)
    },
  )
})
