// Opening an outbox directory after a clean stop or a crash. Sealed segments
// were fsynced before the next one was started, so only the newest segment is
// scanned frame by frame: the first frame that is cut short or fails its CRC
// starts a torn tail (an append that never resolved), which is truncated.
import { mkdir, open, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readFrame } from '../../core/outbox/frame.ts'
import { initialSeqState, type SeqState } from '../../core/outbox/seq-space.ts'
import { readMeta } from './meta.ts'
import { syncDir } from '../durable-file.ts'
import { listSegments, type Segment, segmentName } from './segment.ts'

export interface Recovered {
  state: SeqState
  segments: Segment[]
}

export async function recover(dir: string): Promise<Recovered> {
  await mkdir(dir, { recursive: true })
  const meta = await readMeta(dir)
  const state: SeqState = { ...initialSeqState(), ...meta }
  const listed = await listSegments(dir)
  const segments: Segment[] = []
  for (const s of listed) segments.push({ ...s, size: (await stat(s.path)).size })

  const last = segments[segments.length - 1]
  if (!last) {
    const firstLsn = Math.max(state.nextLsn, state.releasedLsn + 1)
    const path = join(dir, segmentName(firstLsn))
    await writeFile(path, new Uint8Array(0))
    await syncDir(dir)
    segments.push({ firstLsn, path, size: 0 })
    state.nextLsn = firstLsn
  } else {
    const handle = await open(last.path, 'r+')
    try {
      const bytes = new Uint8Array(last.size)
      if (last.size) await handle.read(bytes, 0, last.size, 0)
      let offset = 0
      let lsn = last.firstLsn
      for (;;) {
        const read = readFrame(bytes, offset)
        if (read.kind !== 'record' || read.entry.seq !== lsn) break
        offset = read.next
        lsn++
      }
      if (offset < last.size) {
        await handle.truncate(offset)
        await handle.sync()
        last.size = offset
      }
      state.nextLsn = lsn
    } finally {
      await handle.close()
    }
  }
  // Segments deleted by a drop or an ack whose meta write a crash prevented.
  const first = segments[0] as Segment
  state.releasedLsn = Math.min(Math.max(state.releasedLsn, first.firstLsn - 1), state.nextLsn - 1)
  state.ackedLsn = Math.min(state.ackedLsn, state.nextLsn - 1)
  return { state, segments }
}
