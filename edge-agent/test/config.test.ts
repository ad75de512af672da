/** agent.json is validated once; each bad value is an E_CONFIG naming the key. */

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../src/node/config.ts'
import { modelsDir } from './support/signing.ts'

const base = join(modelsDir, '..')

describe('agent configuration', () => {
  it('fills every default and reads key files relative to the config', () => {
    const c = parseConfig({ publicKeys: { dev: 'models/keys/dev-ed25519.public.pem' } }, base)
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8700, maxBodyBytes: 1 << 20 })
    expect(c.dataDir).toBe(join(base, 'agent-data'))
    expect(c.publicKeys.get('dev')?.length).toBe(44)
    expect(c.shadow).toEqual({ enabled: false, sampleRate: 0.1, samples: 200, minAgreement: 0.95, tolerance: 0.01 })
    expect(c.updates).toBeUndefined()
  })

  it('lets env and flags override the file', () => {
    const c = parseConfig({ http: { port: 1 } }, base, { KAFKA_EDGE_AGENT_PORT: '2' }, { dataDir: '/d' })
    expect(c.http.port).toBe(2)
    expect(c.dataDir).toBe('/d')
    expect(c.bridge).toBeUndefined()
  })

  it('fills the defaults of "bridge"', () => {
    const c = parseConfig({ bridge: { url: 'ws://x', token: 't' } }, base, {}, { dataDir: '/d' })
    expect(c.bridge?.token()).toBe('t')
    expect({ ...c.bridge, token: undefined }).toEqual({
      url: 'ws://x',
      token: undefined,
      outbox: { dir: '/d/outbox', capBytes: 256 * 1024 * 1024, overflow: 'reject', ttlMs: 0 },
      records: { predictions: true, topic: undefined, models: undefined },
      commands: { topics: ['edge.commands'] },
      models: { updates: true, retrySeconds: 15, filesUrl: undefined },
    })
    const env = parseConfig({}, base, { KAFKA_EDGE_AGENT_BRIDGE_URL: 'http://b', KAFKA_EDGE_AGENT_TOKEN: 'e' })
    expect(env.bridge?.url).toBe('http://b')
    expect(env.bridge?.token()).toBe('e')
  })

  it.each([
    [{ nope: 1 }, 'nope'],
    [{ http: { port: 70000 } }, 'http.port'],
    [{ http: 'x' }, 'http'],
    [{ publicKeys: { k: 'does/not/exist.pem' } }, 'publicKeys.k'],
    [{ publicKeys: { k: 'AAAA' } }, 'publicKeys.k'],
    [{ shadow: { sampleRate: 2 } }, 'shadow.sampleRate'],
    [{ updates: { manifestUrl: '' } }, 'updates.manifestUrl'],
    [{ bridge: { token: 't' } }, 'bridge.url'],
    [{ bridge: { url: 'ftp://x', token: 't' } }, 'bridge.url'],
    [{ bridge: { url: 'ws://x' } }, 'bridge.token'],
    [{ bridge: { url: 'ws://x', tokenFile: 'no/such.jwt' } }, 'bridge.tokenFile'],
    [{ bridge: { url: 'ws://x', token: 't', outbox: { overflow: 'keep' } } }, 'bridge.outbox.overflow'],
    [{ bridge: { url: 'ws://x', token: 't', commands: { topics: ['a b'] } } }, 'bridge.commands.topics'],
    [{ bridge: { url: 'ws://x', token: 't', nope: 1 } }, 'bridge.nope'],
  ])('refuses %j naming %s', (raw, key) => {
    expect(() => parseConfig(raw, base)).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining(key) }),
    )
  })
})
