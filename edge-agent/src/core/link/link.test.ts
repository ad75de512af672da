import { describe, expect, it } from 'vitest'
import { decodeBinaryProduce, type ProduceFrame } from '../../protocol/v1.ts'
import { MemoryOutbox } from '../outbox/memory.ts'
import { type LinkClock, systemClock } from './clock.ts'
import { Link } from './link.ts'
import type { SocketFactory, SocketHandlers } from './socket.ts'

const limits = {
  maxBatchRecords: 50,
  maxFrameBytes: 64 * 1024,
  maxRecordBytes: 1024,
  credits: { records: 120, bytes: 1 << 20 },
  ratePerSec: 100_000,
  burst: 100_000,
  heartbeatMs: 15_000,
}

/** A bridge in a few lines: checks seqs as the real one does, acks, and fails on cue. */
function fakeBridge(
  options: { failFrame?: number; dropAfterFrames?: number; drainAtFrame?: number; features?: string[] } = {},
) {
  let committed = 0
  let frames = 0
  /** How each produce frame described its records. */
  const forms: ('records' | 'columns')[] = []
  const seen: number[] = []
  /** Every seq on the wire, resends included. */
  const sent: number[] = []
  const frameStarts: number[] = []
  const batchSizes: number[] = []
  let connects = 0
  let pings = 0
  /** Frames sent into a draining bridge after it had said so (a later generation than the refused one). */
  let sentWhileDraining = 0
  const factory: SocketFactory = (_url, _protocol, h: SocketHandlers) => {
    connects++
    let open = true
    let drainingSince: number | undefined
    const reply = (frame: unknown) => queueMicrotask(() => open && h.onMessage(JSON.stringify(frame)))
    queueMicrotask(() => h.onOpen())
    return {
      send(data) {
        const frame: ProduceFrame | { type: 'hello' | 'ping'; t?: number } =
          typeof data === 'string' ? JSON.parse(data) : decodeBinaryProduce(data).frame
        if (frame.type === 'hello') {
          reply({
            type: 'welcome',
            version: 1,
            deviceId: 'd',
            sessionId: `s${connects}`,
            watermark: committed,
            limits,
            tokenExpiresAt: Date.now() + 3_600_000,
            ...(options.features ? { features: options.features } : {}),
          })
          return
        }
        if (frame.type === 'ping') {
          pings++
          reply({ type: 'pong', t: frame.t })
          return
        }
        if (frame.type !== 'produce') return
        frames++
        forms.push(frame.records ? 'records' : 'columns')
        const seqs = frame.records
          ? frame.records.map((r) => r.seq)
          : frame.columns.sizes.map((_, i) => frame.columns.seq + i)
        sent.push(...seqs)
        frameStarts.push(seqs[0] ?? 0)
        batchSizes.push(seqs.length)
        const first = seqs[0] ?? 0
        const generation = Number((frame.id ?? '0').split('-')[0])
        if (drainingSince !== undefined || frames === options.drainAtFrame) {
          if (drainingSince === undefined) {
            drainingSince = generation
            // As the real bridge does: refuse while in-flight transactions finish, then close with 1001.
            setTimeout(() => {
              if (!open) return
              open = false
              h.onClose(1001, 'E_SHUTTING_DOWN: bridge shutting down')
            }, 50)
          } else if (generation > drainingSince) sentWhileDraining++
          reply({
            type: 'error',
            code: 'E_SHUTTING_DOWN',
            message: 'the bridge is shutting down; resend after reconnecting',
            retryable: true,
            retryAfterMs: 10_000,
            id: frame.id,
            nextSeq: committed + 1,
            watermark: committed,
          })
          return
        }
        if (frames === options.failFrame) {
          reply({
            type: 'error',
            code: 'E_RATE_LIMITED',
            message: 'slow',
            retryable: true,
            retryAfterMs: 20,
            id: frame.id,
            nextSeq: committed + 1,
            watermark: committed,
          })
          return
        }
        if (first > committed + 1) {
          reply({
            type: 'error',
            code: 'E_SEQ_GAP',
            message: 'gap',
            retryable: false,
            id: frame.id,
            nextSeq: committed + 1,
          })
          return
        }
        for (const seq of seqs) {
          if (seq > committed) {
            seen.push(seq)
            committed = seq
          }
        }
        reply({ type: 'ack', ranges: [{ from: first, to: committed }], watermark: committed })
        if (frames === options.dropAfterFrames) {
          open = false
          queueMicrotask(() => h.onClose(1006, 'cut'))
        }
      },
      close(code, reason) {
        if (!open) return
        open = false
        h.onClose(code, reason)
      },
    }
  }
  return {
    factory,
    seen,
    sent,
    frameStarts,
    batchSizes,
    forms,
    connects: () => connects,
    pings: () => pings,
    sentWhileDraining: () => sentWhileDraining,
  }
}

/** An outbox holding `count` records, `{ value: 0 }` onward. */
async function outboxOf(count: number): Promise<MemoryOutbox> {
  const outbox = new MemoryOutbox()
  for (let i = 0; i < count; i++) await outbox.append({ value: i })
  return outbox
}

async function drain(outbox: MemoryOutbox, bridge: ReturnType<typeof fakeBridge>, through: number) {
  const link = new Link({
    url: 'http://bridge',
    outbox,
    socket: bridge.factory,
    token: () => 't',
    backoff: { baseMs: 1, capMs: 5 },
  })
  const done = new Promise<void>((resolve) => link.on('ack', (a) => a.watermark >= through && resolve()))
  link.start()
  await done
  await link.stop()
  return link
}

describe('Link', () => {
  it('sends every record once, in order, in batches within the limits, and empties the outbox', async () => {
    const outbox = await outboxOf(500)
    const bridge = fakeBridge()
    await drain(outbox, bridge, 500)
    expect(bridge.seen).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    // Not one resend: what reached the wire is exactly 1..500.
    expect(bridge.sent).toEqual(bridge.seen)
    expect(Math.max(...bridge.batchSizes)).toBeLessThanOrEqual(50)
    expect(outbox.stats().depth).toBe(0)
  })

  it('describes records as columns only to a bridge whose welcome offers them', async () => {
    const older = fakeBridge()
    await drain(await outboxOf(120), older, 120)
    expect(new Set(older.forms)).toEqual(new Set(['records']))
    const newer = fakeBridge({ features: ['produce-columns'] })
    await drain(await outboxOf(120), newer, 120)
    expect(newer.seen).toEqual(Array.from({ length: 120 }, (_, i) => i + 1))
    expect(new Set(newer.forms)).toEqual(new Set(['columns']))
  })

  it('describes records with headers as columns only to a bridge that also takes their headers', async () => {
    const headed = async () => {
      const outbox = new MemoryOutbox()
      for (let i = 0; i < 120; i++) await outbox.append({ value: i, headers: { line: String(i % 3) } })
      return outbox
    }
    const columnsOnly = fakeBridge({ features: ['produce-columns'] })
    await drain(await headed(), columnsOnly, 120)
    expect(new Set(columnsOnly.forms)).toEqual(new Set(['records']))
    const newer = fakeBridge({ features: ['produce-columns', 'produce-columns-headers'] })
    await drain(await headed(), newer, 120)
    expect(newer.seen).toEqual(Array.from({ length: 120 }, (_, i) => i + 1))
    expect(new Set(newer.forms)).toEqual(new Set(['columns']))
  })

  it('after an error frame resends from nextSeq, ignoring the stale frames behind it', async () => {
    const outbox = await outboxOf(300)
    const bridge = fakeBridge({ failFrame: 2 })
    const link = await drain(outbox, bridge, 300)
    expect(bridge.seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    expect(link.stats().lastError?.code).toBe('E_RATE_LIMITED')
    // Frame 2 (51..100) was refused with nextSeq 51; frames 3.. were sent behind it and are stale.
    // The next fresh frame starts at 51, and nothing before 51 is sent twice.
    const rewind = bridge.frameStarts.indexOf(51, 2)
    expect(rewind).toBeGreaterThan(1)
    expect(bridge.frameStarts.slice(rewind + 1).every((start) => start > 51)).toBe(true)
    expect(bridge.sent.filter((seq) => seq <= 50)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
  })

  it('sends nothing more to a bridge that said it is shutting down, and resends on the next session', async () => {
    const outbox = await outboxOf(300)
    const bridge = fakeBridge({ drainAtFrame: 2 })
    const link = await drain(outbox, bridge, 300)
    expect(bridge.seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    expect(link.stats().lastError?.code).toBe('E_SHUTTING_DOWN')
    expect(bridge.sentWhileDraining()).toBe(0)
    expect(bridge.connects()).toBe(2)
  })

  it('reconnects after a cut and resumes from the watermark', async () => {
    const outbox = await outboxOf(300)
    const bridge = fakeBridge({ dropAfterFrames: 2 })
    const link = await drain(outbox, bridge, 300)
    expect(bridge.seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    expect(bridge.connects()).toBeGreaterThan(1)
    expect(link.stats().reconnects).toBeGreaterThan(0)
  })

  it('after drop-oldest removed unsent records, the next session sends the survivors with no gap', async () => {
    const outbox = new MemoryOutbox({ capBytes: 2000, overflow: 'drop-oldest' })
    for (let i = 0; i < 100; i++) await outbox.append({ value: i })
    const depth = outbox.stats().depth
    expect(outbox.stats().dropped.overflow).toBeGreaterThan(0)
    const bridge = fakeBridge()
    await drain(outbox, bridge, depth)
    expect(bridge.seen).toEqual(Array.from({ length: depth }, (_, i) => i + 1))
  })

  it('keeps one timer per purpose however long a session lives (heartbeats re-arm, never pile up)', async () => {
    let cleared = 0
    const clock: LinkClock = {
      ...systemClock,
      clearTimeout: (handle) => {
        cleared++
        systemClock.clearTimeout(handle)
      },
    }
    const bridge = fakeBridge()
    const link = new Link({
      url: 'http://bridge',
      outbox: new MemoryOutbox(),
      socket: bridge.factory,
      token: () => 't',
      clock,
      pingMs: 1,
    })
    link.start()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(bridge.pings()).toBeGreaterThan(20)
    // Closing clears what the session holds: its few timers, not one per heartbeat ever sent.
    const before = cleared
    await link.stop()
    expect(cleared - before).toBeLessThan(10)
  })

  it('a session that ends while the outbox is being read does not leave the next one idle', async () => {
    // A slow disk: every read takes 100 ms.
    class SlowOutbox extends MemoryOutbox {
      override async peek(fromSeq: number, maxRecords: number, maxBytes: number) {
        const entries = await super.peek(fromSeq, maxRecords, maxBytes)
        await new Promise((resolve) => setTimeout(resolve, 100))
        return entries
      }
    }
    const outbox = new SlowOutbox()
    for (let i = 0; i < 10; i++) await outbox.append({ value: i })
    let connects = 0
    let produced = 0
    const factory: SocketFactory = (_url, _protocol, h) => {
      const n = ++connects
      let open = true
      queueMicrotask(() => h.onOpen())
      return {
        send(data) {
          if (typeof data !== 'string') {
            produced++
            return
          }
          if (JSON.parse(data).type !== 'hello') return
          const welcome = { type: 'welcome', version: 1, deviceId: 'd', sessionId: `s${n}`, watermark: 0, limits }
          queueMicrotask(() => h.onMessage(JSON.stringify({ ...welcome, tokenExpiresAt: Date.now() + 3_600_000 })))
          // The first session ends while its first read is under way; the link reconnects at once.
          if (n === 1)
            setTimeout(() => {
              if (!open) return
              open = false
              h.onClose(4403, 'token expired')
            }, 20)
        },
        close() {
          open = false
        },
      }
    }
    const link = new Link({ url: 'http://bridge', outbox, socket: factory, token: () => 't' })
    link.start()
    await expect.poll(() => produced, { timeout: 2000 }).toBeGreaterThan(0)
    expect(connects).toBe(2)
    await link.stop()
  })

  it('an outbox that fails when a session starts is reported, and the link neither crashes nor stops trying', async () => {
    const outbox = new MemoryOutbox()
    // As FileOutbox.resume does when writing the new numbering fails on a full disk.
    outbox.resume = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    }
    const bridge = fakeBridge()
    const link = new Link({ url: 'http://bridge', outbox, socket: bridge.factory, token: () => 't' })
    const errors: { code: string; message: string }[] = []
    link.on('error', (e) => errors.push(e))
    link.start()
    await expect.poll(() => errors.length, { timeout: 2000 }).toBeGreaterThan(0)
    expect(errors[0]).toMatchObject({ code: 'E_OUTBOX', message: 'the outbox failed: ENOSPC: no space left on device' })
    expect(link.state).not.toBe('online')
    await expect.poll(() => bridge.connects(), { timeout: 5000 }).toBeGreaterThan(1)
    await link.stop()
  })
})
