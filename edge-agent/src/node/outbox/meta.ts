// meta.json: the outbox's sequence bookkeeping, replaced atomically
// (write a temporary file, fsync it, rename it over, fsync the directory).
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { SeqState } from '../../core/outbox/seq-space.ts'

const FILE = 'meta.json'

export async function readMeta(dir: string): Promise<Partial<SeqState> | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as { version?: number } & Partial<SeqState>
    return parsed.version === 1 ? parsed : undefined
  } catch {
    return undefined
  }
}

export async function writeMeta(dir: string, state: SeqState): Promise<void> {
  const tmp = join(dir, `${FILE}.tmp`)
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(JSON.stringify({ version: 1, ...state }))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, join(dir, FILE))
  await syncDir(dir)
}

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
