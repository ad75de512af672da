import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BridgeConfigInput, TopicNames } from '@kafka-edge/proxy-bridge'
import { signManifest } from '@kafka-edge/models/manifest-signing'
import { brokers } from './kafka.ts'

const bin = fileURLToPath(new URL('../../proxy-bridge/bin/kafka-edge-models.js', import.meta.url))
export const modelsDir = fileURLToPath(new URL('../../models/', import.meta.url))
export const devPublicKey = join(modelsDir, 'keys', 'dev-ed25519.public.pem')
export const devPrivateKey = join(modelsDir, 'keys', 'dev-ed25519.private.pem')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** A bridge-style config file the CLI reads with --config: brokers and this test's topics. */
export function cliConfigFile(topics: TopicNames): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kafka-edge-models-cli-')), 'config.json')
  writeFileSync(file, JSON.stringify({ kafka: { brokers: brokers(), partitions: 3 }, topics }))
  return file
}

/** Runs `kafka-edge-models ...args` as a child process. */
export function modelsCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** Trusted-key and config flags for a test's topics. */
export function cliFlags(config: string): string[] {
  return ['--config', config, '--trusted-key', `dev=${devPublicKey}`]
}

/**
 * `kafka-edge-models publish dir --quiet ...flags` for a test's topics; throws
 * with the CLI's stderr unless it exits 0 (tests of refusals call modelsCli).
 */
export async function publishModel(dir: string, config: string, flags: string[] = []): Promise<void> {
  const result = await modelsCli(['publish', dir, ...flags, '--quiet', ...cliFlags(config)])
  if (result.code !== 0) throw new Error(`publish ${dir} exited ${result.code}: ${result.stderr}`)
}

/** A copy of a committed model in a temp dir, optionally re-signed with changes (dev key). */
export function modelCopy(name: string, change?: (manifest: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), `kafka-edge-model-${name}-`))
  cpSync(join(modelsDir, name), dir, { recursive: true })
  if (change) {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>
    change(manifest)
    const signed = signManifest(manifest, readFileSync(devPrivateKey, 'utf8'), 'dev')
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(signed, null, 2)}\n`)
  }
  return dir
}

/** Bridge config overrides: a fresh cache dir and the dev signing key. */
export function modelBridgeOverrides(extra: BridgeConfigInput = {}): BridgeConfigInput {
  return {
    ...extra,
    models: {
      cacheDir: mkdtempSync(join(tmpdir(), 'kafka-edge-bridge-cache-')),
      signingKeys: { dev: readFileSync(devPublicKey, 'utf8') },
      ...extra.models,
    },
  }
}
