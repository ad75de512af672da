import { createHash, generateKeyPairSync } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { signManifest, verifyManifest } from '../src/manifest-signing.ts'
import { existsSync } from 'node:fs'
import { committedManifests, ON_DEMAND_MODELS, readDevPublicKey } from './committed-models.ts'

const devKeys = { dev: readDevPublicKey() }
const fixtures = committedManifests()

describe('committed manifests', () => {
  it('exist for every committed model form', () => {
    expect(fixtures.map((f) => f.path).sort()).toEqual([
      'minilm/manifest.json',
      'vibration-anomaly/manifest.json',
      'vibration-anomaly/tfjs/manifest.json',
      'wine/manifest.json',
    ])
  })

  describe.each(fixtures)('$path', ({ path, dir, manifest }) => {
    const onDemand = (ON_DEMAND_MODELS as readonly string[]).includes(path.split('/')[0] ?? '')
    const filesPresent = manifest.files.every((f) => existsSync(join(dir, f.path)))

    it('verifies with the dev public key', () => {
      expect(manifest.signature?.keyId).toBe('dev')
      expect(verifyManifest(manifest, devKeys)).toBe(true)
    })

    // On-demand models commit their manifest but not their large files.
    it.skipIf(onDemand && !filesPresent)('lists files whose size and sha256 match', () => {
      expect(manifest.files.map((f) => f.path)).toContain(manifest.entry)
      for (const file of manifest.files) {
        const path = join(dir, file.path)
        expect(statSync(path).size, file.path).toBe(file.size)
        expect(createHash('sha256').update(readFileSync(path)).digest('hex'), file.path).toBe(file.sha256)
        if (!onDemand) expect(file.size, `${file.path} stays under 2 MB`).toBeLessThan(2 * 1024 * 1024)
      }
    })

    it('carries golden vectors, a fixed creation time and the default rollout', () => {
      expect(manifest.golden.vectors.length).toBeGreaterThanOrEqual(3)
      expect(manifest.golden.vectors.length).toBeLessThanOrEqual(5)
      expect(manifest.createdAt).toBe('2026-01-01T00:00:00.000Z')
      expect(manifest.rollout.percent).toBe(100)
    })

    it('fails verification once tampered with', () => {
      const tampered = structuredClone(manifest)
      tampered.version += 1
      expect(verifyManifest(tampered, devKeys)).toBe(false)

      const otherHash = structuredClone(manifest)
      ;(otherHash.files[0] as { sha256: string }).sha256 = '0'.repeat(64)
      expect(verifyManifest(otherHash, devKeys)).toBe(false)

      const goldenEdited = structuredClone(manifest)
      goldenEdited.golden.tolerance *= 10
      expect(verifyManifest(goldenEdited, devKeys)).toBe(false)
    })
  })
})

describe('signManifest / verifyManifest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const manifest = { name: 'm', version: 2, nested: { b: 1, a: [0.1, 1e21] } }

  it('round-trips and ignores key order and formatting', () => {
    const signed = signManifest(manifest, privateKey, 'k1')
    const reordered = JSON.parse(
      JSON.stringify({ nested: { a: [0.1, 1e21], b: 1 }, signature: signed.signature, version: 2, name: 'm' }, null, 2),
    )
    expect(verifyManifest(reordered, { k1: publicKey })).toBe(true)
    expect(verifyManifest(reordered, new Map([['k1', publicKey]]))).toBe(true)
  })

  it('re-signing replaces the old signature and is deterministic', () => {
    const once = signManifest(manifest, privateKey, 'k1')
    const twice = signManifest(once, privateKey, 'k1')
    expect(twice.signature).toEqual(once.signature)
  })

  it('rejects unknown keys, wrong keys, other algorithms and malformed signatures', () => {
    const signed = signManifest(manifest, privateKey, 'k1')
    const other = generateKeyPairSync('ed25519').publicKey
    expect(verifyManifest(signed, {})).toBe(false)
    expect(verifyManifest(signed, { k1: other })).toBe(false)
    expect(verifyManifest({ ...signed, signature: { ...signed.signature, alg: 'rsa' } }, { k1: publicKey })).toBe(false)
    expect(
      verifyManifest({ ...signed, signature: { ...signed.signature, value: 'not base64url!' } }, { k1: publicKey }),
    ).toBe(false)
    expect(verifyManifest({ ...signed, signature: undefined }, { k1: publicKey })).toBe(false)
    expect(verifyManifest(null, { k1: publicKey })).toBe(false)
    expect(verifyManifest([signed], { k1: publicKey })).toBe(false)
    expect(verifyManifest({ ...signed, extra: 1 }, { k1: publicKey })).toBe(false)
  })

  it('refuses to sign with a key that is not ed25519', () => {
    const { privateKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    expect(() => signManifest(manifest, ec, 'ec')).toThrow(/expected ed25519/)
  })
})
