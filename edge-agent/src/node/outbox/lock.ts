// One owner per outbox directory: outbox.lock holds the owner's pid. A lock
// left by a dead process (kill -9) is taken over; so is one carrying this
// process's own pid that this process does not hold (a container restarted
// with the same pid). A second open in the same process is refused.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { OutboxError } from '../../core/outbox/record.ts'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const held = new Set<string>()

export function lockDir(dir: string): () => void {
  const file = resolve(dir, 'outbox.lock')
  if (held.has(file)) throw new OutboxError('E_OUTBOX_LOCKED', `outbox ${dir} is already open in this process`)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      held.add(file)
      return () => {
        held.delete(file)
        try {
          unlinkSync(file)
        } catch {
          // Already gone.
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number(readFileSync(file, 'utf8'))
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new OutboxError('E_OUTBOX_LOCKED', `outbox ${dir} is in use by process ${owner}`)
      }
      unlinkSync(file)
    }
  }
  throw new OutboxError('E_OUTBOX_LOCKED', `could not lock outbox ${dir}`)
}
