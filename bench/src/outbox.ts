// Benchmark "outbox": durable appends, recovery of a 1,000,000-record outbox,
// and the drain rate of one agent into Kafka through a bridge child process.
// Group commit policy measured: one write + one fdatasync per group, a group
// being every append that arrived while the previous fsync ran (FileOutbox's default).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Link } from '../../edge-agent/src/core/link/link.ts'
import { wsSocket } from '../../edge-agent/src/node/link/ws-socket.ts'
import { FileOutbox } from '../../edge-agent/src/node/outbox/file-outbox.ts'
import type { BenchResult } from './report.ts'
import { deviceToken, startBridgeProcess } from './bridge-process.ts'
import { log, startKafka, Teardown } from './stack.ts'
import { round } from './stats.ts'

const RECORDS = 1_000_000
const WINDOW = 20_000
const DRAIN_RECORDS = 100_000
const value200 = (i: number) => ({ i, sensor: 'line-4/temp', reading: 21.5 + (i % 100) / 10, pad: 'x'.repeat(140) })

async function appendMany(outbox: FileOutbox, count: number): Promise<number> {
  const started = performance.now()
  const inFlight = new Set<Promise<number>>()
  for (let i = 1; i <= count; i++) {
    const p = outbox.append({ value: value200(i) })
    inFlight.add(p)
    void p.then(() => inFlight.delete(p))
    if (inFlight.size >= WINDOW) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  return performance.now() - started
}

export async function outbox(): Promise<BenchResult> {
  const td = new Teardown()
  const dir = mkdtempSync(join(tmpdir(), 'bench-outbox-'))
  td.add('outbox dir', () => rmSync(dir, { recursive: true, force: true }))
  try {
    const bytes = JSON.stringify(value200(123456)).length
    log(`appending ${RECORDS} records of ${bytes} bytes (window ${WINDOW})`)
    const a = await FileOutbox.open(dir, { capBytes: 2 * 1024 ** 3 })
    const appendMs = await appendMany(a, RECORDS)
    const appendsPerS = Math.round(RECORDS / (appendMs / 1000))
    log(`${appendsPerS} durable appends/s`)
    await a.close()

    const recoveryStart = performance.now()
    const b = await FileOutbox.open(dir, { capBytes: 2 * 1024 ** 3 })
    const recoveryMs = performance.now() - recoveryStart
    const recovered = b.stats().depth
    log(`recovered ${recovered} records in ${round(recoveryMs, 1)} ms`)
    await b.close()
    rmSync(dir, { recursive: true, force: true })

    const { brokers } = await startKafka(td, 'outbox')
    const bridge = await startBridgeProcess(td, {
      brokers,
      prefix: `bench-outbox-${Date.now()}`,
      config: { limits: { ratePerSec: 1_000_000, burst: 1_000_000 } },
    })
    const drainDir = mkdtempSync(join(tmpdir(), 'bench-drain-'))
    td.add('drain dir', () => rmSync(drainDir, { recursive: true, force: true }))
    const c = await FileOutbox.open(drainDir)
    await appendMany(c, DRAIN_RECORDS)
    const token = await deviceToken('bench-outbox-agent')
    const link = new Link({ url: bridge.url, outbox: c, socket: wsSocket, token: () => token })
    const drainStart = performance.now()
    await new Promise<void>((resolve) => {
      link.on('ack', (ack) => {
        if (ack.watermark >= DRAIN_RECORDS) resolve()
      })
      link.start()
    })
    const drainMs = performance.now() - drainStart
    await link.stop()
    await c.close()
    const drainPerS = Math.round(DRAIN_RECORDS / (drainMs / 1000))
    log(`drained ${DRAIN_RECORDS} records in ${round(drainMs)} ms: ${drainPerS}/s`)
    return {
      appends_per_s: appendsPerS,
      record_bytes: bytes,
      fsync_policy: 'group commit: one write + fdatasync per group of appends queued during the previous fsync',
      recovery_1m_ms: round(recoveryMs, 1),
      recovered_records: recovered,
      drain_records_per_s: drainPerS,
      drain_records: DRAIN_RECORDS,
    }
  } finally {
    await td.run()
  }
}

export const outboxTargets = { appends_per_s: 50_000, recovery_1m_ms: 2000 }
