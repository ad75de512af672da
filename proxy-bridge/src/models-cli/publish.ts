import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import { Admin } from '@platformatic/kafka'
import type { BridgeConfig } from '../config.ts'
import { BridgeError } from '../errors.ts'
import { ensureTopics } from '../kafka/topics.ts'
import { checkManifest, signingKeyMap } from '../models/manifest-check.ts'
import { CHUNK_BYTES, chunkCount, chunkKey, emptyState, type ModelState, withPublished } from '../models/model-state.ts'
import { type ChunkMessage, changeModelState } from '../models/state-writer.ts'
import {
  cliConfig,
  commonHelp,
  commonOptions,
  ExitCodes,
  formatBytes,
  UsageError,
  writerOptions,
} from './cli-support.ts'
import { checkFiles, readManifest } from './model-dir.ts'
import { ProgressBar } from './progress.ts'

export const help = `Usage: kafka-edge-models publish <dir> [--percent N] [--groups a,b] [--quiet]

Publishes the signed model in <dir> (manifest.json and the files it lists):
verifies the signature with a trusted key, checks every file's size and
sha256, refuses a version not higher than the newest ever published, then in
one Kafka transaction writes the files in 512 KiB chunks to edge.model-chunks
and the model's new state to edge.models. The rollout starts with the
manifest's rollout policy; --percent and --groups override it.

${commonHelp}
      --quiet               no progress bar`

export async function publish(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, percent: { type: 'string' }, groups: { type: 'string' }, quiet: { type: 'boolean' } },
  })
  if (values.help) {
    console.log(help)
    return ExitCodes.OK
  }
  const dir = positionals[0]
  if (!dir || positionals.length > 1) throw new UsageError('publish takes exactly one model directory')
  const config = cliConfig(values)
  const keys = signingKeyMap(config.models.signingKeys)
  if (keys.size === 0) {
    throw new BridgeError(
      ErrorCodes.SIGNING_KEY_UNKNOWN,
      'no trusted signing keys: pass --trusted-key ID=FILE, --trusted-keys FILE or set models.signingKeys',
    )
  }
  const manifest = checkManifest(readManifest(dir), keys)
  // Overrides change the rollout state on Kafka; the signed manifest stays as signed.
  const percent = values.percent === undefined ? undefined : Number(values.percent)
  if (percent !== undefined && !(percent >= 0 && percent <= 100)) throw new UsageError('--percent must be 0-100')
  const groups = values.groups?.split(',').filter(Boolean)
  await checkFiles(dir, manifest.files)
  await createTopics(config)

  const total = manifest.files.reduce((n, f) => n + f.size, 0)
  const bar = values.quiet ? undefined : new ProgressBar(`${manifest.name} v${manifest.version}`, total)
  const published = await changeModelState(writerOptions(config), manifest.name, async ({ current, send }) => {
    const latest = current?.latest ?? 0
    if (manifest.version <= latest) {
      throw new BridgeError(
        ErrorCodes.MODEL_VERSION_NOT_NEWER,
        `${manifest.name} v${manifest.version} is not newer than v${latest}, the newest ever published; sign it with --version ${latest + 1}`,
      )
    }
    for (const file of manifest.files) await sendFile(config, dir, manifest, file.path, file.size, send, bar)
    bar?.finish()
    const { state, dropped } = withPublished(current ?? emptyState(manifest.name), manifest, { percent, groups })
    // Chunks of versions the state no longer keeps are deleted (tombstones), in the same transaction.
    for (const version of dropped) await send(tombstones(config, current as ModelState, version))
    return { state, result: state }
  })
  const rollout = published.rollout
  console.log(
    `published ${manifest.name} v${manifest.version}: ${manifest.files.length} file(s), ${formatBytes(total)}; rollout ${rollout?.percent} % (${rollout?.state}); stable ${published.stable ?? 'none'}`,
  )
  return ExitCodes.OK
}

async function createTopics(config: BridgeConfig): Promise<void> {
  if (!config.kafka.createTopics) return
  const admin = new Admin({ clientId: 'kafka-edge-models-admin', bootstrapBrokers: config.kafka.brokers })
  try {
    await ensureTopics(admin, config.topics, config.kafka.partitions)
  } catch (error) {
    throw new BridgeError(
      ErrorCodes.KAFKA_UNAVAILABLE,
      `cannot reach Kafka at ${config.kafka.brokers.join(',')}: ${(error as Error).message}`,
    )
  } finally {
    await admin.close().catch(() => {})
  }
}

/** One chunk per send: a batch of several would pass Kafka's 1 MB request default. */
async function sendFile(
  config: BridgeConfig,
  dir: string,
  manifest: SignedModelManifest,
  path: string,
  size: number,
  send: (messages: ChunkMessage[]) => Promise<void>,
  bar: ProgressBar | undefined,
): Promise<void> {
  const count = chunkCount(size, CHUNK_BYTES)
  const handle = await open(join(dir, path), 'r')
  try {
    for (let index = 0; index < count; index++) {
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, size - index * CHUNK_BYTES))
      await handle.read(buffer, 0, buffer.length, index * CHUNK_BYTES)
      await send([
        {
          topic: config.topics.modelChunks,
          key: Buffer.from(chunkKey(manifest.name, manifest.version, path, index)),
          value: buffer,
          headers: new Map([
            [Buffer.from('chunks'), Buffer.from(String(count))],
            [Buffer.from('sha256'), Buffer.from(createHash('sha256').update(buffer).digest('hex'))],
          ]),
        },
      ])
      bar?.tick(buffer.length)
    }
  } finally {
    await handle.close()
  }
}

function tombstones(config: BridgeConfig, state: ModelState, version: number): ChunkMessage[] {
  const manifest = state.versions[String(version)]
  if (!manifest) return []
  return manifest.files.flatMap((file) =>
    Array.from({ length: chunkCount(file.size, state.chunkBytes) }, (_, index) => ({
      topic: config.topics.modelChunks,
      key: Buffer.from(chunkKey(manifest.name, version, file.path, index)),
      value: null as unknown as Buffer,
    })),
  )
}
