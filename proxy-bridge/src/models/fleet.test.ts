import { describe, expect, it } from 'vitest'
import { type FleetEvent, FleetCounts } from './fleet.ts'

const event = (deviceId: string, version: number, state: FleetEvent['state'], at: number): FleetEvent => ({
  v: 1,
  type: 'model-status',
  deviceId,
  model: 'wine',
  version,
  state,
  at,
  bridge: 'b',
})

describe('FleetCounts', () => {
  it('counts each device once, by its latest report, as reports replace each other', () => {
    const counts = new FleetCounts()
    counts.apply(event('a', 2, 'activated', 1))
    counts.apply(event('b', 2, 'rejected', 1))
    counts.apply(event('c', 2, 'activated', 1))
    expect(counts.outcome('wine', 2)).toEqual({ total: 3, failed: 1 })
    // c rolls v2 back, then runs v1 again; a late, older report of a changes nothing.
    counts.apply(event('c', 2, 'rolled-back', 2))
    counts.apply(event('c', 1, 'activated', 3))
    counts.apply(event('a', 2, 'rejected', 0))
    expect(counts.summary('wine')).toEqual({
      devices: 3,
      versions: {
        '1': { activated: 1, rejected: 0, 'rolled-back': 0 },
        '2': { activated: 1, rejected: 1, 'rolled-back': 0 },
      },
    })
    expect(counts.outcome('wine', 2)).toEqual({ total: 2, failed: 1 })
    expect(counts.outcome('wine', 3)).toEqual({ total: 0, failed: 0 })
    expect(counts.summary('other')).toEqual({ devices: 0, versions: {} })
  })
})
