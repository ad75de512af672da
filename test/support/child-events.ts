// A child process that prints one JSON event per line on stdout: the events
// parsed as they arrive, the whole output for failure messages, and a wait
// for an event that wakes on output instead of polling.
import type { ChildProcess } from 'node:child_process'

export type ChildEvent = Record<string, unknown>

export interface ChildEvents {
  events: ChildEvent[]
  /** stdout and stderr as printed so far. */
  output: () => string
  /** The exit code, or the signal that ended it. */
  exited: Promise<string>
  /** Resolves with the first event from index `from` that matches; rejects on exit or timeout. */
  waitFor(match: (event: ChildEvent) => boolean, timeoutMs?: number, from?: number): Promise<ChildEvent>
}

export function collectEvents(child: ChildProcess, name = 'child'): ChildEvents {
  const events: ChildEvent[] = []
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of waiters) w()
  }
  let output = ''
  let partial = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    partial += chunk.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      try {
        events.push(JSON.parse(line) as ChildEvent)
      } catch {
        // Not an event line.
      }
    }
    wake()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(signal ?? String(code))
      wake()
    })
  })

  const waitFor: ChildEvents['waitFor'] = (match, timeoutMs = 30_000, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.slice(from).find(match)
        if (found) {
          done()
          resolve(found)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done()
          reject(new Error(`the ${name} exited before the event:\n${output.slice(-4000)}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no matching ${name} event within ${timeoutMs} ms:\n${output.slice(-4000)}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })

  return { events, output: () => output, exited, waitFor }
}
