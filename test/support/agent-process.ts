import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('./agent-child.ts', import.meta.url))

export interface AgentProcess {
  child: ChildProcess
  events: Record<string, unknown>[]
  output: () => string
  exited: Promise<string>
  kill(signal?: NodeJS.Signals): Promise<string>
}

export interface AgentArgs {
  dir: string
  url: string
  device: string
  token: string
  count: number
}

/** Runs test/support/agent-child.ts with tsx as a real child process. */
export function spawnAgent(args: AgentArgs): AgentProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--dir',
      args.dir,
      '--url',
      args.url,
      '--device',
      args.device,
      '--token',
      args.token,
      '--count',
      String(args.count),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const events: Record<string, unknown>[] = []
  let output = ''
  let partial = ''
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
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? String(code)))
  })
  return {
    child,
    events,
    output: () => output,
    exited,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
