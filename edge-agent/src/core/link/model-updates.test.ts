import { describe, expect, it } from 'vitest'
import { FakeLink, settle } from '../../../test/support/fake-link.ts'
import type { ModelFrame } from '../../protocol/v1.ts'
import type { AgentEvents, Outcome } from '../agent.ts'
import type { ModelSource } from '../models/download.ts'
import { Emitter } from '../outbox/emitter.ts'
import { ModelUpdates } from './model-updates.ts'

/** An agent whose installs answer from a script and emit the events the real one does. */
class FakeAgent extends Emitter<AgentEvents> {
  current: { name: string; version: number } | undefined = { name: 'wine', version: 1 }
  installs: ModelSource[] = []
  next: ((source: ModelSource) => Outcome)[] = []
  async install(source: ModelSource): Promise<Outcome> {
    this.installs.push(source)
    const outcome = (this.next.shift() as (source: ModelSource) => Outcome)(source)
    if (outcome.outcome === 'activated') {
      this.current = outcome.model
      this.emit('activated', { ...outcome.model, previous: null })
    }
    if (outcome.outcome === 'rejected' && outcome.model)
      this.emit('rejected', { ...outcome.model, code: outcome.code, message: outcome.message })
    return outcome
  }
}

const frame = (version: number): ModelFrame => ({
  type: 'model',
  name: 'wine',
  version,
  manifestUrl: '/v1/models/wine/manifest',
  etag: `"wine-${version}"`,
})

function setup() {
  const link = new FakeLink()
  const agent = new FakeAgent()
  const timers: (() => void)[] = []
  const updates = new ModelUpdates({
    link: link as never,
    agent: agent as never,
    baseUrl: 'ws://bridge.local:8080/edge/',
    clock: {
      setTimeout: (fn) => timers.push(fn),
      clearTimeout: () => {},
    },
  })
  updates.start()
  return { link, agent, updates, timers }
}

describe('model updates', () => {
  it('installs the pushed version from the bridge and reports it, with what the device runs', async () => {
    const { link, agent } = setup()
    agent.next.push(() => ({ outcome: 'activated', model: { name: 'wine', version: 2 } }))
    link.deliver(frame(2))
    await settle()
    expect(agent.installs).toEqual([
      {
        manifestUrl: 'http://bridge.local:8080/edge/v1/models/wine/manifest',
        filesUrl: 'http://bridge.local:8080/edge/v1/models/{name}/{version}/files/{path}',
      },
    ])
    expect(link.sent).toEqual([
      { type: 'model-status', name: 'wine', version: 2, state: 'activated', running: { wine: 2 } },
    ])
  })

  it('says it runs a version it already runs, and keeps a newer one when told of an older', async () => {
    const { link, agent } = setup()
    agent.next.push(() => ({ outcome: 'unchanged', model: { name: 'wine', version: 1 } }))
    link.deliver(frame(1))
    await settle()
    agent.current = { name: 'wine', version: 3 }
    link.deliver(frame(2))
    await settle()
    expect(agent.installs.length).toBe(1)
    expect(link.sent).toEqual([
      { type: 'model-status', name: 'wine', version: 1, state: 'activated', running: { wine: 1 } },
    ])
  })

  it('reports a refusal once per version, keeps reports made offline for the next session, retries failed downloads', async () => {
    const { link, agent, timers } = setup()
    link.online = false
    agent.next.push(() => ({
      outcome: 'rejected',
      model: { name: 'wine', version: 2 },
      code: 'E_GOLDEN_MISMATCH',
      message: 'golden vector 2 off',
    }))
    link.deliver(frame(2))
    await settle()
    expect(link.sent).toEqual([])
    link.online = true
    link.welcome()
    const rejected = {
      type: 'model-status',
      name: 'wine',
      version: 2,
      state: 'rejected',
      reason: 'E_GOLDEN_MISMATCH: golden vector 2 off',
      running: { wine: 1 },
    }
    expect(link.sent).toEqual([rejected])
    // Pushed again after a reconnect: answered from memory, no second download.
    link.deliver(frame(2))
    await settle()
    expect(agent.installs.length).toBe(1)
    expect(link.sent).toEqual([rejected, rejected])

    agent.next.push(() => ({
      outcome: 'download-failed',
      model: { name: 'wine', version: 3 },
      code: 'E_DOWNLOAD',
      message: 'x',
    }))
    agent.next.push(() => ({ outcome: 'activated', model: { name: 'wine', version: 3 } }))
    link.deliver(frame(3))
    await settle()
    expect(timers.length).toBe(1)
    timers[0]?.()
    await settle()
    expect(agent.installs.length).toBe(3)
    expect(link.sent.at(-1)).toMatchObject({ version: 3, state: 'activated' })
  })
})
