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

  it('lets env and flags override the file, and passes "bridge" through', () => {
    const c = parseConfig(
      { http: { port: 1 }, bridge: { url: 'ws://x' } },
      base,
      { KAFKA_EDGE_AGENT_PORT: '2' },
      { dataDir: '/d' },
    )
    expect(c.http.port).toBe(2)
    expect(c.dataDir).toBe('/d')
    expect(c.bridge).toEqual({ url: 'ws://x' })
  })

  it.each([
    [{ nope: 1 }, 'nope'],
    [{ http: { port: 70000 } }, 'http.port'],
    [{ http: 'x' }, 'http'],
    [{ publicKeys: { k: 'does/not/exist.pem' } }, 'publicKeys.k'],
    [{ publicKeys: { k: 'AAAA' } }, 'publicKeys.k'],
    [{ shadow: { sampleRate: 2 } }, 'shadow.sampleRate'],
    [{ updates: { manifestUrl: '' } }, 'updates.manifestUrl'],
  ])('refuses %j naming %s', (raw, key) => {
    expect(() => parseConfig(raw, base)).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining(key) }),
    )
  })
})
