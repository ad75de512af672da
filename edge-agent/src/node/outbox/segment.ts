// Segment files: <first lsn, 20 digits>.seg, records framed back to back
// (core/outbox/frame.ts). Only the newest segment is appended to; older ones
// are sealed and deleted whole once every record in them is acked or dropped.
import { open, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export interface Segment {
  firstLsn: number
  path: string
  /** Bytes in the file (sealed) or written so far (active). */
  size: number
}

const NAME = /^(\d{20})\.seg$/

export const segmentName = (firstLsn: number) => `${String(firstLsn).padStart(20, '0')}.seg`

export async function listSegments(dir: string): Promise<Omit<Segment, 'size'>[]> {
  const names = await readdir(dir)
  const out: Omit<Segment, 'size'>[] = []
  for (const name of names) {
    const m = NAME.exec(name)
    if (m?.[1]) out.push({ firstLsn: Number(m[1]), path: join(dir, name) })
  }
  return out.sort((a, b) => a.firstLsn - b.firstLsn)
}

/** Reads `length` bytes at `position` of a file (fewer at its end). */
export async function readAt(path: string, position: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return buffer.subarray(0, filled)
  } finally {
    await handle.close()
  }
}
