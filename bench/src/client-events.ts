// The load-generator children (conn-client.ts, fanout-client.ts) report on
// stdout as JSON lines: {"event":"ready"|"final"|"error", ...}.
import { createInterface } from 'node:readline'
import type { Child } from './stack.ts'

export interface ClientEvent {
  event: string
  message?: string
}

/**
 * Reads a child's JSON lines; the function it returns waits for the next line
 * of one event (taking it off the queue) and throws on an "error" line.
 */
export function clientEvents<E extends ClientEvent>(
  child: Child,
  who: string,
): (event: E['event'], timeoutMs: number) => Promise<E> {
  const queue: E[] = []
  const waiters: (() => void)[] = []
  const stdout = child.process.stdout
  if (!stdout) throw new Error(`${who} has no stdout`)
  createInterface({ input: stdout }).on('line', (line) => {
    try {
      queue.push(JSON.parse(line) as E)
    } catch {
      return // not one of ours
    }
    for (const wake of waiters.splice(0)) wake()
  })
  return async (event, timeoutMs) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = queue.findIndex((e) => e.event === event || e.event === 'error')
      if (i >= 0) {
        const found = queue.splice(i, 1)[0] as E
        if (found.event === 'error') throw new Error(`${who} failed: ${found.message}`)
        return found
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no "${event}" from a ${who} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
}
