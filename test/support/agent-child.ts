// One agent as a child process, for chaos tests: opens a Node outbox in --dir,
// tops it up to --count records, drains it through the link to --url, and
// exits 0 once the bridge acked them all. Safe to kill -9 and start again on
// the same directory. Prints one JSON line per event on stdout.
import { parseArgs } from 'node:util'
import { Link } from '../../edge-agent/src/core/link/link.ts'
import { FileOutbox } from '../../edge-agent/src/node/outbox/file-outbox.ts'
import { wsSocket } from '../../edge-agent/src/node/link/ws-socket.ts'
import { agentRecordValue } from './agent-records.ts'

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    url: { type: 'string' },
    device: { type: 'string' },
    token: { type: 'string' },
    count: { type: 'string' },
    'backoff-cap-ms': { type: 'string', default: '1000' },
  },
})
const count = Number(values.count)
const device = values.device as string

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)

async function main(): Promise<void> {
  const outbox = await FileOutbox.open(values.dir as string)
  // Seqs are dense and start at 1: the outbox already holds (or sent) nextSeq - 1 records.
  const appends: Promise<number>[] = []
  for (let n = outbox.nextSeq; n <= count; n++) appends.push(outbox.append({ value: agentRecordValue(device, n) }))
  await Promise.all(appends)
  say({ event: 'appended', nextSeq: outbox.nextSeq, depth: outbox.stats().depth })
  const link = new Link({
    url: values.url as string,
    outbox,
    socket: wsSocket,
    token: () => values.token as string,
    backoff: { baseMs: 100, capMs: Number(values['backoff-cap-ms']) },
  })
  const done = new Promise<void>((resolve) => {
    const check = () => {
      if (outbox.stats().ackedSeq >= count) resolve()
    }
    link.on('ack', (a) => {
      say({ event: 'ack', watermark: a.watermark })
      check()
    })
    link.on('online', (o) => {
      say({ event: 'online', watermark: o.watermark })
      check()
    })
  })
  link.on('offline', (o) => say({ event: 'offline', code: o.code, reason: o.reason }))
  link.on('error', (e) => say({ event: 'error', code: e.code, message: e.message }))
  link.start()
  await done
  await link.stop()
  await outbox.close()
  say({ event: 'done' })
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
