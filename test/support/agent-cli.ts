// The real `kafka-edge-agent run --config FILE` as a child process: its
// stdout events parsed, its local HTTP API at hand.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collectEvents } from './child-events.ts'

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
  const { events, output, exited, waitFor } = collectEvents(child, 'agent')

  const listening = await waitFor((e) => e.event === 'listening', timeoutMs)
  const url = listening.url as string
  return {
    child,
    url,
    dir,
    events,
    output,
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
