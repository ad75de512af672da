// A load-generator child for the connections benchmark: opens COUNT sessions
// (token in the Authorization header, hello, wait for welcome), holds them
// idle while ws answers the server's pings, and reports on stdout as JSON lines.
// Reads "report" on stdin: prints the final state and exits.
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { deviceToken } from './bridge-process.ts'

const url = process.env.BRIDGE_URL as string
const count = Number(process.env.COUNT)
const first = Number(process.env.FIRST ?? 0)
const concurrency = Number(process.env.CONCURRENCY ?? 50)
const tag = process.env.TAG ?? 'conn'

let welcomed = 0
let failed = 0
let closed = 0
let pings = 0
const closeCodes = new Map<string, number>()
const failures = new Map<string, number>()
const sockets: WebSocket[] = []

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function open(token: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, ['kafka-edge.v1'], {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    })
    let done = false
    const finish = (ok: boolean, why?: string) => {
      if (done) return
      done = true
      if (ok) welcomed++
      else {
        failed++
        const key = why ?? 'unknown'
        failures.set(key, (failures.get(key) ?? 0) + 1)
      }
      resolve()
    }
    ws.on('open', () => ws.send('{"type":"hello"}'))
    ws.once('message', (data: Buffer) => {
      const ok = data.toString('utf8').includes('"welcome"')
      finish(ok, ok ? undefined : data.toString('utf8').slice(0, 80))
      if (ok) sockets.push(ws)
    })
    ws.on('ping', () => {
      pings++
    })
    ws.on('error', (error) => finish(false, error.message.slice(0, 80)))
    ws.on('close', (code) => {
      if (done) {
        closed++
        closeCodes.set(String(code), (closeCodes.get(String(code)) ?? 0) + 1)
      }
      finish(false, `closed ${code}`)
    })
  })
}

async function main(): Promise<void> {
  const tokens = await Promise.all(
    Array.from({ length: count }, (_, i) => deviceToken(`${tag}-${String(first + i).padStart(5, '0')}`)),
  )
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++
        await open(tokens[i] as string)
      }
    }),
  )
  emit({
    event: 'ready',
    welcomed,
    failed,
    failures: Object.fromEntries(failures),
    ms: Math.round(performance.now() - started),
  })
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    if (line.trim() !== 'report') return
    const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length
    emit({ event: 'final', welcomed, failed, open, closed, pings, closeCodes: Object.fromEntries(closeCodes) })
    for (const ws of sockets) ws.terminate()
    process.exit(0)
  })
}

void main().catch((error: unknown) => {
  emit({ event: 'error', message: String(error) })
  process.exit(1)
})
