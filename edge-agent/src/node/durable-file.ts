// Writes that survive a power cut: the data is synced before the rename that
// publishes it, and the directory after, so the new name is durable too.
import { open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Replaces `path` with `data` atomically: readers see the old file or the new one, never a part. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, tmp = `${path}.tmp`): Promise<void> {
  try {
    const handle = await open(tmp, 'w')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw error
  }
  await syncDir(dirname(path))
}
