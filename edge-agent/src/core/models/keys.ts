/**
 * The manifest signing keys the agent trusts, keyId -> Ed25519 public key.
 * Accepted forms: a PEM "PUBLIC KEY" (SPKI), or the raw 32-byte key in
 * base64/base64url. Parsed once at configuration time.
 */

import { decodeBase64 } from '../base64.ts'
import { AgentError } from '../errors.ts'

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

export type TrustedKeys = ReadonlyMap<string, Uint8Array>

function parseOne(keyId: string, text: string): Uint8Array {
  const pem = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(text)
  const der = decodeBase64(pem ? (pem[1] ?? '') : text.trim())
  if (der?.length === 32) return Uint8Array.from([...ED25519_SPKI_PREFIX, ...der])
  const isEd25519Spki = der !== undefined && der.length === 44 && ED25519_SPKI_PREFIX.every((b, i) => der[i] === b)
  if (!isEd25519Spki)
    throw new AgentError('E_CONFIG', `publicKeys.${keyId} is not an Ed25519 public key (PEM SPKI or 32 bytes base64)`)
  return der
}

/** keyId -> SPKI DER bytes. Throws E_CONFIG naming the bad key. */
export function parseTrustedKeys(keys: Record<string, string>): TrustedKeys {
  return new Map(Object.entries(keys).map(([id, text]) => [id, parseOne(id, text)]))
}
