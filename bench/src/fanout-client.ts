// A load-generator child for the fanout benchmark: opens COUNT sessions
// (hello, welcome), then records when each receives a `model` frame for
// VERSION. Prints {"event":"ready"} once all are open, {"event":"received"}
// once every open session has the frame; on "report" (stdin) prints
// {"event":"final","received":n,"times":[ms-epoch, ...]}, one time per session.
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { deviceToken } from './bridge-process.ts'

const url = process.env.BRIDGE_URL as string
const count = Number(process.env.COUNT)
const first = Number(process.env.FIRST ?? 0)
const version = Number(process.env.VERSION ?? 2)
const concurrency = Number(process.env.CONCURRENCY ?? 50)

const times: number[] = []
let failed = 0
let ready = false
const sockets: WebSocket[] = []

/** Tells the parent once every open session has the new version, so it need not guess how long to wait. */
function reportIfAllReceived(): void {
  if (ready && times.length === sockets.length) process.stdout.write('{"event":"received"}\n')
}

function open(index: number): Promise<void> {
  return deviceToken(`fanout-${index}`).then(
    (token) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, ['kafka-edge.v1'], {
          headers: { authorization: `Bearer ${token}` },
          perMessageDeflate: false,
          handshakeTimeout: 30_000,
        })
        let welcomed = false
        let received = false
        ws.on('open', () => ws.send('{"type":"hello"}'))
        ws.on('message', (data: Buffer) => {
          const text = data.toString('utf8')
          if (!welcomed && text.includes('"welcome"')) {
            welcomed = true
            sockets.push(ws)
            resolve()
            return
          }
          if (
            !received &&
            text.includes('"type":"model"') &&
            (JSON.parse(text) as { version: number }).version === version
          ) {
            received = true
            times.push(Date.now())
            reportIfAllReceived()
          }
        })
        ws.on('error', () => {
          if (!welcomed) {
            failed++
            resolve()
          }
        })
      }),
  )
}

async function main(): Promise<void> {
  let next = first
  const end = first + count
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < end) await open(next++)
    }),
  )
  process.stdout.write(`${JSON.stringify({ event: 'ready', welcomed: sockets.length, failed })}\n`)
  ready = true
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'report') return
    process.stdout.write(`${JSON.stringify({ event: 'final', received: times.length, times })}\n`)
    for (const ws of sockets) ws.terminate()
    process.exit(0)
  })
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ event: 'error', message: String(error) })}\n`)
  process.exit(1)
})
