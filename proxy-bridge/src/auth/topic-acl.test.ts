import { describe, expect, it } from 'vitest'
import { defaultTopics } from '../config.ts'
import { mayProduce, maySubscribe, mayStream, OPERATORS_GROUP } from './topic-acl.ts'
import type { DeviceIdentity } from './tokens.ts'

const device: DeviceIdentity = { deviceId: 'd', groups: [], topics: ['alerts', 'telemetry.*'], expiresAt: 0 }
const everything: DeviceIdentity = { ...device, topics: ['*', 'edge.*'] }
const operator: DeviceIdentity = { ...everything, topics: [], groups: [OPERATORS_GROUP] }
const t = defaultTopics
const bridgeTopics = [t.deviceState, t.models, t.modelChunks, t.fleet, t.commands, t.replies]

describe('topic ACL', () => {
  it('matches exact names and prefixes ending in *, nothing else', () => {
    for (const may of [mayProduce, maySubscribe, mayStream]) {
      expect(may(device, 'alerts', t)).toBe(true)
      expect(may(device, 'telemetry.vibration', t)).toBe(true)
      expect(may(device, 'alerts2', t)).toBe(false)
      expect(may(device, 'telemetry', t)).toBe(false)
      expect(may(everything, 'anything', t)).toBe(true)
    }
  })

  it('produce: the records topic always, no bridge topic whatever the token says (a forged reply included)', () => {
    expect(mayProduce({ ...device, topics: [] }, t.records, t)).toBe(true)
    for (const topic of bridgeTopics) expect(mayProduce(everything, topic, t), topic).toBe(false)
  })

  it('subscribe: the commands inbox always, no other bridge topic', () => {
    expect(maySubscribe({ ...device, topics: [] }, t.commands, t)).toBe(true)
    for (const topic of bridgeTopics.filter((x) => x !== t.commands)) {
      expect(maySubscribe(everything, topic, t), topic).toBe(false)
    }
  })

  it('stream: no bridge topic for devices; operators see fleet and commands, never state, models or replies', () => {
    for (const topic of bridgeTopics) expect(mayStream(everything, topic, t), topic).toBe(false)
    expect(mayStream(operator, 'anything', t)).toBe(true)
    expect(mayStream(operator, t.fleet, t)).toBe(true)
    expect(mayStream(operator, t.commands, t)).toBe(true)
    for (const topic of [t.deviceState, t.models, t.modelChunks, t.replies]) {
      expect(mayStream(operator, topic, t), topic).toBe(false)
    }
  })
})
