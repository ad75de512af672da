/**
 * The checks that stand between a downloaded model and activation: the
 * manifest's Ed25519 signature against the trusted keys, each file's size
 * and SHA-256, expiry, and the version against what this device has seen.
 */

import { canonicalJson } from '@kafka-edge/models/canonical-json'
import { decodeBase64 } from '../base64.ts'
import { AgentError } from '../errors.ts'
import type { Crypto } from '../ports.ts'
import type { TrustedKeys } from './keys.ts'
import { type ModelManifest, modelId } from './manifest.ts'

const encoder = new TextEncoder()

/** Throws E_SIGNATURE_INVALID unless a trusted key signed the canonical form of the manifest. */
export async function verifySignature(manifest: ModelManifest, keys: TrustedKeys, crypto: Crypto): Promise<void> {
  const signature = manifest.signature
  const id = modelId(manifest)
  if (signature?.alg !== 'ed25519' || typeof signature.value !== 'string')
    throw new AgentError('E_SIGNATURE_INVALID', `${id}: the manifest has no ed25519 signature`)
  const key = keys.get(signature.keyId)
  if (key === undefined)
    throw new AgentError(
      'E_SIGNATURE_INVALID',
      `${id}: signed with key "${signature.keyId}", which this agent does not trust`,
    )
  const value = decodeBase64(signature.value)
  const { signature: _omitted, ...unsigned } = manifest
  const ok =
    value !== undefined &&
    value.length === 64 &&
    (await crypto.verifyEd25519(key, encoder.encode(canonicalJson(unsigned)), value))
  if (!ok)
    throw new AgentError('E_SIGNATURE_INVALID', `${id}: the signature by key "${signature.keyId}" does not verify`)
}

/** Throws E_SIZE_MISMATCH / E_SHA256_MISMATCH unless `bytes` are the file the manifest lists at `path`. */
export async function verifyFile(
  manifest: ModelManifest,
  path: string,
  bytes: Uint8Array,
  crypto: Crypto,
): Promise<void> {
  const file = manifest.files.find((f) => f.path === path)
  if (file === undefined) throw new AgentError('E_FILE_MISSING', `${modelId(manifest)}: ${path} is not in the manifest`)
  if (bytes.length !== file.size)
    throw new AgentError(
      'E_SIZE_MISMATCH',
      `${modelId(manifest)}: ${path} has ${bytes.length} bytes, the manifest says ${file.size}`,
    )
  const digest = await crypto.sha256(bytes)
  if (digest !== file.sha256)
    throw new AgentError(
      'E_SHA256_MISMATCH',
      `${modelId(manifest)}: ${path} has sha256 ${digest}, the manifest says ${file.sha256}`,
    )
}

/** Throws E_MODEL_EXPIRED when the manifest's expiresAt has passed. */
export function verifyNotExpired(manifest: ModelManifest, nowMs: number): void {
  if (manifest.expiresAt !== null && manifest.expiresAt !== undefined && Date.parse(manifest.expiresAt) <= nowMs)
    throw new AgentError('E_MODEL_EXPIRED', `${modelId(manifest)} expired at ${manifest.expiresAt}`)
}

export interface VersionHistory {
  /** Highest version ever seen (with a valid signature) per model name. */
  highestSeen: Record<string, number>
  /** "name@version" of versions rolled back on this device. */
  refused: string[]
  current?: { name: string; version: number } | undefined
}

/**
 * No downgrade by replay: a version below the highest ever seen, or not above
 * the current one, is refused, and so is one this device rolled back. The
 * highest seen version itself may be offered again (a resumed download).
 */
export function verifyVersion(manifest: ModelManifest, history: VersionHistory): void {
  const id = modelId(manifest)
  if (history.refused.includes(id)) throw new AgentError('E_VERSION_REFUSED', `${id} was rolled back on this device`)
  const current = history.current
  if (current?.name === manifest.name && manifest.version <= current.version)
    throw new AgentError('E_DOWNGRADE', `${id} is not newer than the current ${modelId(current)}`)
  const highest = history.highestSeen[manifest.name] ?? 0
  if (manifest.version < highest)
    throw new AgentError('E_DOWNGRADE', `${id} is older than ${manifest.name}@${highest}, already seen here`)
}
