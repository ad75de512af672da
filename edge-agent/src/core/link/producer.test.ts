import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../test/support/manual-clock.ts'
import { testWelcome } from '../../../test/support/welcome.ts'
import { decodeBinaryProduce, type SessionLimits } from '../../protocol/v1.ts'
import { MemoryOutbox } from '../outbox/memory.ts'
import { OutboxError } from '../outbox/record.ts'
import { Backoff } from './backoff.ts'
import { Producer } from './producer.ts'
import { Session } from './session.ts'

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

/** A welcomed session over a recording socket, and a producer draining `count` records into it. */
async function producing(count: number, limits: Partial<SessionLimits>, maxInFlightFrames = 8) {
  const { clock, advance } = manualClock()
  const outbox = new MemoryOutbox()
  for (let i = 0; i < count; i++) await outbox.append({ value: i })
  const frames: { id: string; seqs: number[] }[] = []
  const errors: string[] = []
  const acked: number[] = []
  const ended: string[] = []
  const session = new Session(
    clock,
    { token: () => 't', pingMs: 5000, deadAfterMs: 15_000, refreshBeforeMs: 60_000 },
    { end: (_code, reason) => ended.push(reason), fail: () => {} },
  )
  session.socket = {
    send(data) {
      const { frame } = decodeBinaryProduce(data as Uint8Array)
      const seqs = frame.records
        ? frame.records.map((r) => r.seq)
        : frame.columns.sizes.map((_, i) => frame.columns.seq + i)
      frames.push({ id: frame.id ?? '', seqs })
    },
    close: () => {},
  }
  const producer = new Producer(
    { outbox, clock, backoff: new Backoff({ baseMs: 1000, capMs: 1000 }, clock.random), maxInFlightFrames },
    { acked: (ack) => acked.push(ack.watermark), fail: (error) => errors.push(error.code) },
  )
  const welcome = testWelcome({ maxBatchRecords: 10, ...limits })
  producer.opened(session)
  session.welcome = welcome
  producer.welcomed(welcome, await outbox.resume(0))
  await producer.pump()
  const starts = () => frames.map((f) => f.seqs[0])
  return { producer, outbox, session, frames, starts, errors, acked, ended, advance }
}

describe('Producer', () => {
  it('keeps unacked records within the credits; an ack releases the outbox and lets more go', async () => {
    const p = await producing(100, { credits: { records: 35, bytes: 1 << 20 } })
    expect(p.starts()).toEqual([1, 11, 21, 31])
    expect(p.frames.map((f) => f.seqs.length)).toEqual([10, 10, 10, 5])
    expect(p.producer.inFlightRecords()).toBe(35)
    await p.producer.ack({ type: 'ack', ranges: [{ from: 1, to: 20 }], watermark: 20 })
    await settle()
    expect(p.acked).toEqual([20])
    expect(p.producer.watermark).toBe(20)
    expect(p.outbox.stats().depth).toBe(80)
    expect(p.starts()).toEqual([1, 11, 21, 31, 36, 46])
    expect(p.producer.inFlightRecords()).toBe(35)
  })

  it('pipelines at most maxInFlightFrames frames', async () => {
    const p = await producing(100, {}, 3)
    expect(p.starts()).toEqual([1, 11, 21])
  })

  it('after an error rewinds to nextSeq once retryAfterMs passed, and ignores errors about the frames behind it', async () => {
    const p = await producing(100, {}, 3)
    expect(p.frames.map((f) => f.id)).toEqual(['0-1', '0-2', '0-3'])
    const refused = { type: 'error', code: 'E_RATE_LIMITED', message: 'slow', retryable: true } as const
    p.producer.error({ ...refused, id: '0-2', retryAfterMs: 100, nextSeq: 11, watermark: 10 })
    p.producer.error({ ...refused, id: '0-3', retryAfterMs: 100, nextSeq: 21, watermark: 10 })
    await settle()
    expect(p.acked).toEqual([10])
    expect(p.frames.length).toBe(3)
    await p.advance(100)
    expect(p.frames.length).toBe(3)
    await p.advance(1)
    expect(p.frames.slice(3)).toEqual([
      { id: '1-4', seqs: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20] },
      { id: '1-5', seqs: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30] },
      { id: '1-6', seqs: [31, 32, 33, 34, 35, 36, 37, 38, 39, 40] },
    ])
    // Both errors are reported, though only the first rewound.
    expect(p.errors).toEqual(['E_RATE_LIMITED', 'E_RATE_LIMITED'])
  })

  it('reports a record no frame can hold and tries it again after a backoff', async () => {
    const p = await producing(0, { maxFrameBytes: 512 })
    await p.outbox.append({ value: 'x'.repeat(1000) })
    await p.producer.pump()
    expect(p.errors).toEqual(['E_RECORD_TOO_LARGE'])
    expect(p.frames).toEqual([])
    // Backoff {base 1000, cap 1000} with random 0.5: 500 ms.
    await p.advance(500)
    expect(p.errors.length).toBe(1)
    await p.advance(1)
    expect(p.errors).toEqual(['E_RECORD_TOO_LARGE', 'E_RECORD_TOO_LARGE'])
  })

  it('sends nothing for a closed session', async () => {
    const p = await producing(0, {})
    p.session.markClosed()
    await p.outbox.append({ value: 1 })
    await p.producer.pump()
    expect(p.frames).toEqual([])
    expect(p.producer.inFlightRecords()).toBe(0)
  })

  it('an outbox that cannot take an ack is reported and ends the session; the records stay for the next one', async () => {
    const p = await producing(20, {})
    p.outbox.ack = async () => {
      throw new OutboxError('E_OUTBOX_CLOSED', 'the outbox is closed')
    }
    await p.producer.ack({ type: 'ack', ranges: [{ from: 1, to: 10 }], watermark: 10 })
    expect(p.errors).toEqual(['E_OUTBOX_CLOSED'])
    expect(p.ended).toEqual(['outbox error'])
    expect(p.acked).toEqual([])
    expect(p.outbox.stats().depth).toBe(20)
  })
})
