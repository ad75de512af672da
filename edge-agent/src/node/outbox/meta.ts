// meta.json: the outbox's sequence bookkeeping, replaced atomically
// (write a temporary file, fsync it, rename it over, fsync the directory).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../durable-file.ts'
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
  await writeFileAtomic(join(dir, FILE), JSON.stringify({ version: 1, ...state }))
}
