/**
 * Ed25519 signatures of model manifests (Node side: the build, the bridge,
 * the CLI). The signed bytes are the UTF-8 of canonicalJson(manifest
 * without its `signature` field); the signature value is base64url without
 * padding.
 */

import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import { canonicalJson } from './canonical-json.ts'
import type { ManifestSignature } from './manifest.ts'

export type PublicKeys = Record<string, string | KeyObject> | Map<string, string | KeyObject>

/** The bytes a manifest signature covers. */
export function manifestSigningPayload(manifest: object): Buffer {
  const { signature: _ignored, ...unsigned } = manifest as { signature?: unknown }
  return Buffer.from(canonicalJson(unsigned), 'utf8')
}

/** Returns a copy of `manifest` with a fresh `signature` (any old one is replaced). */
export function signManifest<T extends object>(
  manifest: T,
  privateKeyPem: string | KeyObject,
  keyId: string,
): Omit<T, 'signature'> & { signature: ManifestSignature } {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem
  if (key.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`signing key ${keyId} is ${key.asymmetricKeyType}, expected ed25519`)
  const value = sign(null, manifestSigningPayload(manifest), key).toString('base64url')
  const { signature: _old, ...unsigned } = manifest as T & { signature?: unknown }
  return { ...(unsigned as Omit<T, 'signature'>), signature: { alg: 'ed25519', keyId, value } }
}

function lookupKey(keys: PublicKeys, keyId: string): KeyObject | undefined {
  const found = keys instanceof Map ? keys.get(keyId) : Object.hasOwn(keys, keyId) ? keys[keyId] : undefined
  if (found === undefined) return undefined
  return typeof found === 'string' ? createPublicKey(found) : found
}

/**
 * True only if the manifest carries an ed25519 signature by a key in
 * `publicKeysByKeyId` over its canonical form. Never throws on malformed
 * input: anything unexpected is simply not verified.
 */
export function verifyManifest(manifest: unknown, publicKeysByKeyId: PublicKeys): boolean {
  try {
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) return false
    const signature = (manifest as { signature?: unknown }).signature
    if (typeof signature !== 'object' || signature === null) return false
    const { alg, keyId, value } = signature as Partial<Record<keyof ManifestSignature, unknown>>
    if (alg !== 'ed25519' || typeof keyId !== 'string' || typeof value !== 'string') return false
    if (!/^[A-Za-z0-9_-]{86}$/.test(value)) return false // 64 bytes, base64url, no padding
    const key = lookupKey(publicKeysByKeyId, keyId)
    if (key === undefined || key.asymmetricKeyType !== 'ed25519') return false
    return verify(null, manifestSigningPayload(manifest), key, Buffer.from(value, 'base64url'))
  } catch {
    return false
  }
}
