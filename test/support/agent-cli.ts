// The real `kafka-edge-agent run --config FILE` as a child process: its
// stdout events parsed, its local HTTP API at hand.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../edge-agent/bin/kafka-edge-agent.js', import.meta.url))

export interface AgentCli {
  child: ChildProcess
  /** The local HTTP API. */
  url: string
  dir: string
  events: Record<string, unknown>[]
  output: () => string
  /** Resolves with the first event (from the start) that matches. */
  waitFor(
    match: (event: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<Record<string, unknown>>
  /** GET or POST on the local API; the body as JSON. */
  api<T = Record<string, unknown>>(path: string, body?: unknown): Promise<{ status: number; body: T }>
  /** SIGTERM (graceful) by default; resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<string>
}

/** Writes agent.json (dataDir in a fresh temp dir unless set) and starts the agent; resolves once it listens. */
export async function spawnAgentCli(config: Record<string, unknown>, timeoutMs = 30_000): Promise<AgentCli> {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-edge-agent-cli-'))
  const file = join(dir, 'agent.json')
  writeFileSync(file, JSON.stringify({ dataDir: join(dir, 'data'), http: { port: 0 }, ...config }))
  const child = spawn(process.execPath, [bin, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  const events: Record<string, unknown>[] = []
  let output = ''
  let partial = ''
  const waiters = new Set<() => void>()
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    partial += chunk.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      try {
        events.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        // Not an event line.
      }
    }
    for (const wake of waiters) wake()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(signal ?? String(code))
      for (const wake of waiters) wake()
    })
  })

  const waitFor: AgentCli['waitFor'] = (match, wait = 30_000, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.slice(from).find(match)
        if (found) {
          done()
          resolve(found)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done()
          reject(new Error(`the agent exited before the event:\n${output}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no matching agent event within ${wait} ms:\n${output.slice(-4000)}`))
      }, wait)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })

  const listening = await waitFor((e) => e.event === 'listening', timeoutMs)
  const url = listening.url as string
  return {
    child,
    url,
    dir,
    events,
    output: () => output,
    waitFor,
    async api<T>(path: string, body?: unknown) {
      const res = await fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
      return { status: res.status, body: (await res.json()) as T }
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
