import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ChildEvent, type ChildEvents, collectEvents } from './child-events.ts'

const script = fileURLToPath(new URL('./agent-child.ts', import.meta.url))

export interface AgentProcess {
  child: ChildProcess
  events: ChildEvent[]
  output: () => string
  exited: Promise<string>
  waitFor: ChildEvents['waitFor']
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
  const { events, output, exited, waitFor } = collectEvents(child, 'agent')
  return {
    child,
    events,
    output,
    exited,
    waitFor,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
