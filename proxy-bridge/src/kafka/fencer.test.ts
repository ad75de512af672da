import { describe, expect, it } from 'vitest'
import { Fencer } from './fencer.ts'

/** A fenceOne whose calls stay pending until released, so a test sees each round. */
function controlled() {
  const calls: { id: string; done: (error?: Error) => void }[] = []
  const fenceOne = (id: string) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ id, done: (error) => (error ? reject(error) : resolve()) })
    })
  const release = (error?: (id: string) => Error | undefined) => {
    for (const call of calls.splice(0)) call.done(error?.(call.id))
  }
  return { calls, fenceOne, release }
}

const settled = async (promise: Promise<unknown>) => {
  let state = 'pending'
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  )
  await new Promise((resolve) => setImmediate(resolve))
  return state
}

describe('Fencer', () => {
  it('fences the ids of every claim that asked while a round ran in one next round, each id once', async () => {
    const { calls, fenceOne, release } = controlled()
    const rounds: number[] = []
    const fencer = new Fencer(fenceOne, { onRound: (ids) => rounds.push(ids) })

    const first = fencer.fence(['a', 'b'])
    expect(calls.map((c) => c.id)).toEqual(['a', 'b'])
    const later = Array.from({ length: 50 }, () => fencer.fence(['a', 'b', 'c']))
    // The round under way began before these calls: it does not count for them.
    expect(calls).toHaveLength(2)
    release()
    await first
    await new Promise((resolve) => setImmediate(resolve))
    expect(await settled(Promise.all(later))).toBe('pending')
    expect(calls.map((c) => c.id).sort()).toEqual(['a', 'b', 'c'])
    release()
    await Promise.all(later)
    expect(rounds).toEqual([2, 3])
  })

  it('a failed id rejects only the claims that asked for it', async () => {
    const { fenceOne, release } = controlled()
    const fencer = new Fencer(fenceOne)
    const blocker = fencer.fence(['x'])
    const withBad = fencer.fence(['a', 'bad'])
    const without = fencer.fence(['a'])
    release()
    await blocker
    await new Promise((resolve) => setImmediate(resolve))
    release((id) => (id === 'bad' ? new Error('coordinator not available') : undefined))
    await expect(withBad).rejects.toThrow('coordinator not available')
    await expect(without).resolves.toBeUndefined()
  })

  it('starts again after going idle, and asks nothing of Kafka for no ids', async () => {
    const { calls, fenceOne, release } = controlled()
    const fencer = new Fencer(fenceOne)
    await fencer.fence([])
    expect(calls).toHaveLength(0)
    const one = fencer.fence(['a'])
    release()
    await one
    const two = fencer.fence(['b'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls.map((c) => c.id)).toEqual(['b'])
    release()
    await two
  })

  it('a round that hangs past its patience does not hold up the claims that came after it', async () => {
    const { calls, fenceOne, release } = controlled()
    const rounds: number[] = []
    const fencer = new Fencer(fenceOne, { onRound: (ids) => rounds.push(ids), patienceMs: 20 })
    const stuck = fencer.fence(['stuck'])
    const later = fencer.fence(['a'])
    // Within its patience, the stuck round holds the next one back.
    expect(calls.map((c) => c.id)).toEqual(['stuck'])
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(calls.map((c) => c.id)).toEqual(['stuck', 'a'])
    const a = calls[1] as (typeof calls)[number]
    a.done()
    await later
    expect(await settled(stuck)).toBe('pending')
    release()
    await stuck
    expect(rounds).toEqual([1, 1])
  })
})
