import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../test/support/manual-clock.ts'
import { testWelcome } from '../../../test/support/welcome.ts'
import { Session, type SessionOptions } from './session.ts'

const welcome = (heartbeatMs: number) =>
  testWelcome({ credits: { records: 100, bytes: 1 << 20 }, ratePerSec: 1000, burst: 1000, heartbeatMs }, 0)

function session(options: Partial<SessionOptions> = {}) {
  const manual = manualClock()
  const sent: { type: string; token?: string }[] = []
  const ended: string[] = []
  const errors: string[] = []
  const s = new Session(
    manual.clock,
    { token: () => 'fresh', pingMs: 5000, deadAfterMs: 15_000, refreshBeforeMs: 60_000, ...options },
    { end: (_code, reason) => ended.push(reason), fail: (error) => errors.push(error.code) },
  )
  s.socket = { send: (data) => sent.push(JSON.parse(data as string)), close: () => {} }
  return { s, sent, ended, errors, ...manual }
}

describe('Session', () => {
  it('pings every interval and ends after two pings go unanswered', async () => {
    const { s, sent, ended, advance } = session()
    s.welcome = welcome(15_000)
    s.heartbeat()
    await advance(10_000)
    expect(sent.map((f) => f.type)).toEqual(['ping', 'ping'])
    expect(ended).toEqual([])
    await advance(5000)
    expect(ended).toEqual(['no frame from the bridge for 15000 ms'])
  })

  it('stays up while the bridge is heard, and notices silence sooner when the bridge beats faster', async () => {
    const heard = session()
    heard.s.welcome = welcome(15_000)
    heard.s.heartbeat()
    for (let i = 0; i < 10; i++) {
      await heard.advance(4000)
      heard.s.lastHeard = heard.clock.now()
    }
    expect(heard.ended).toEqual([])
    // heartbeatMs 3 s: dead after 6 s, a ping every 2 s.
    const fast = session()
    fast.s.welcome = welcome(3000)
    fast.s.heartbeat()
    await fast.advance(6000)
    expect(fast.sent.length).toBe(2)
    expect(fast.ended).toEqual(['no frame from the bridge for 6000 ms'])
  })

  it('sends a fresh token refreshBeforeMs ahead of expiry, or a fifth of the lifetime when shorter', async () => {
    const long = session()
    long.s.scheduleRefresh(3_600_000)
    await long.advance(3_540_000 - 1)
    expect(long.sent).toEqual([])
    await long.advance(1)
    expect(long.sent).toEqual([{ type: 'token', token: 'fresh' }])
    const short = session()
    short.s.scheduleRefresh(100_000)
    await short.advance(80_000)
    expect(short.sent).toEqual([{ type: 'token', token: 'fresh' }])
  })

  it('reports a failing token provider and asks again 5 s later', async () => {
    let calls = 0
    const { s, sent, errors, advance } = session({
      token: () => {
        if (++calls === 1) throw new Error('down')
        return 'second'
      },
    })
    s.scheduleRefresh(100_000)
    await advance(80_000)
    expect(errors).toEqual(['E_TOKEN_PROVIDER'])
    expect(sent).toEqual([])
    // Scheduled again against the same expiry: 15 s left at 85 s, sent a fifth of that ahead.
    await advance(5000 + 12_000 - 1)
    expect(sent).toEqual([])
    await advance(1)
    expect(sent).toEqual([{ type: 'token', token: 'second' }])
  })

  it('keeps one timer per purpose and clears them all when closed', async () => {
    const { s, sent, advance, pending } = session()
    s.welcome = welcome(15_000)
    s.heartbeat()
    s.heartbeat()
    s.scheduleRefresh(3_600_000)
    s.setTimer('wake', () => {}, 10)
    expect(pending()).toBe(3)
    s.markClosed()
    expect(s.closed).toBe(true)
    expect(pending()).toBe(0)
    await advance(3_600_000)
    expect(sent).toEqual([])
  })
})
