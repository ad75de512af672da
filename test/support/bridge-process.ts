import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BridgeConfigInput } from '@kafka-edge/proxy-bridge'
import { BRIDGE_NODE_FLAGS, buildBridge } from '../../proxy-bridge/scripts/build.ts'

const bin = fileURLToPath(new URL('../../proxy-bridge/bin/kafka-edge-bridge.js', import.meta.url))

export interface BridgeProcess {
  child: ChildProcess
  url: string
  /** Its stdout and stderr so far. */
  output: () => string
  /** Resolves with the exit code or signal. */
  exited: Promise<string>
  kill(signal?: NodeJS.Signals): Promise<string>
}

/**
 * Runs `kafka-edge-bridge --config` as a child process and waits until it
 * listens: from its sources (bin/, through tsx), or `built`, the file
 * `npm run build -w proxy-bridge` writes, run as production runs it.
 */
export async function spawnBridge(
  config: BridgeConfigInput,
  options: { timeoutMs?: number; built?: boolean } = {},
): Promise<BridgeProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const dir = mkdtempSync(join(tmpdir(), 'kafka-edge-bridge-'))
  const file = join(dir, 'bridge.json')
  writeFileSync(file, JSON.stringify({ ...config, logLevel: 'info' }))
  const entry = options.built ? [...BRIDGE_NODE_FLAGS, await buildBridge()] : [bin]
  const child = spawn(process.execPath, [...entry, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? String(code)))
  })
  let output = ''
  let listening = false
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bridge did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    )
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (listening) return
      const match = /"url":"(http:\/\/[^"]+)".*"msg":"bridge listening"/.exec(output)
      if (match?.[1]) {
        listening = true
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`bridge exited (${how}) before listening:\n${output}`))
    })
  })
  return {
    child,
    url,
    output: () => output,
    exited,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
