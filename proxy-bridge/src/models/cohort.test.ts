import { describe, expect, it } from 'vitest'
import { assignedVersion, cohortBucket, inCohort } from './cohort.ts'
import { emptyState, type ModelState } from './model-state.ts'

const ids = Array.from({ length: 10_000 }, (_, i) => `device-${i.toString(36)}-${(i * 7919) % 10_007}`)

describe('cohort selection', () => {
  it('is stable: pinned buckets, so a change to the hash (which would reshuffle every fleet) fails here', () => {
    // sha256(model \0 device), first 48 bits, as a percentage: what every bridge version must keep computing.
    expect(cohortBucket('press-07', 'wine')).toBeCloseTo(78.4751747806748, 9)
    expect(cohortBucket('press-07', 'vibration-anomaly')).toBeCloseTo(88.2801244235786, 9)
  })

  it.each([1, 5, 20, 50, 80, 99])('puts %i percent of 10,000 devices in the cohort, within ±3 points', (percent) => {
    const rollout = { percent, groups: [] }
    const share =
      (ids.filter((id) => inCohort({ deviceId: id, groups: [] }, 'wine', rollout)).length / ids.length) * 100
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(3)
  })

  it('grows monotonically: devices in at 20 % stay in at 50 %', () => {
    const at = (percent: number) =>
      new Set(ids.filter((id) => inCohort({ deviceId: id, groups: [] }, 'wine', { percent, groups: [] })))
    const twenty = at(20)
    const fifty = at(50)
    for (const id of twenty) expect(fifty.has(id)).toBe(true)
  })

  it('takes devices of a named group whatever their bucket', () => {
    const outside = ids.find((id) => cohortBucket(id, 'wine') >= 10) as string
    expect(inCohort({ deviceId: outside, groups: ['canary'] }, 'wine', { percent: 10, groups: ['canary'] })).toBe(true)
    expect(inCohort({ deviceId: outside, groups: ['line-3'] }, 'wine', { percent: 10, groups: ['canary'] })).toBe(false)
  })
})

describe('assigned version by rollout state', () => {
  const manifest = (version: number) => ({ name: 'wine', version }) as never
  const state = (rolloutState: 'rolling' | 'paused' | 'aborted' | 'complete'): ModelState => ({
    ...emptyState('wine'),
    latest: 2,
    versions: { '1': manifest(1), '2': manifest(2) },
    stable: 1,
    rollout: { version: 2, percent: 50, groups: [], state: rolloutState, updatedAt: 0 },
  })
  const inside = ids.find((id) => cohortBucket(id, 'wine') < 50) as string
  const outside = ids.find((id) => cohortBucket(id, 'wine') >= 50) as string
  const none = () => undefined

  it('rolling: the cohort gets the new version, the rest stable', () => {
    expect(assignedVersion(state('rolling'), { deviceId: inside, groups: [] }, none)).toBe(2)
    expect(assignedVersion(state('rolling'), { deviceId: outside, groups: [] }, none)).toBe(1)
  })

  it('paused: only devices already running it keep it', () => {
    expect(assignedVersion(state('paused'), { deviceId: inside, groups: [] }, none)).toBe(1)
    expect(assignedVersion(state('paused'), { deviceId: inside, groups: [] }, () => 2)).toBe(2)
  })

  it('aborted: everyone back to stable; complete: everyone on the new version', () => {
    expect(assignedVersion(state('aborted'), { deviceId: inside, groups: [] }, () => 2)).toBe(1)
    expect(assignedVersion(state('complete'), { deviceId: outside, groups: [] }, none)).toBe(2)
  })
})
