import { createPublicKey, type KeyObject } from 'node:crypto'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import { verifyManifest } from '@kafka-edge/models/manifest-signing'
import { BridgeError } from '../errors.ts'

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/
const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/**
 * A manifest file path is relative and '/'-separated, each segment plain
 * (no '.', '..', empty, backslash or leading dot): it can never name a file
 * outside the model, on any OS.
 */
export function isSafeModelPath(path: string): boolean {
  if (path.length === 0 || path.length > 512) return false
  return path.split('/').every((segment) => PATH_SEGMENT.test(segment) && segment !== '..' && segment !== '.')
}

export type SigningKeys = Map<string, KeyObject>

export function signingKeyMap(pems: Record<string, string>): SigningKeys {
  return new Map(Object.entries(pems).map(([keyId, pem]) => [keyId, createPublicKey(pem)]))
}

function invalid(message: string): BridgeError {
  return new BridgeError(ErrorCodes.MODEL_MANIFEST_INVALID, message)
}

/** Checks the shape a bridge relies on (types: models/src/manifest.ts); throws E_MODEL_MANIFEST_INVALID. */
export function checkManifestShape(value: unknown): asserts value is SignedModelManifest {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid('the manifest is not a JSON object')
  const m = value as Partial<SignedModelManifest>
  if (typeof m.name !== 'string' || !MODEL_NAME.test(m.name)) {
    throw invalid(`name ${JSON.stringify(m.name)} must be 1-128 of a-z 0-9 . _ - starting with a letter or digit`)
  }
  if (!Number.isSafeInteger(m.version) || (m.version as number) < 1) {
    throw invalid(`version ${JSON.stringify(m.version)} must be an integer >= 1`)
  }
  if (m.format !== 'onnx' && m.format !== 'tfjs') throw invalid('format must be "onnx" or "tfjs"')
  if (!Array.isArray(m.files) || m.files.length === 0) throw invalid('files must list at least one file')
  const seen = new Set<string>()
  for (const file of m.files) {
    if (!file || typeof file.path !== 'string' || !isSafeModelPath(file.path)) {
      throw new BridgeError(
        ErrorCodes.PATH_INVALID,
        `file path ${JSON.stringify(file?.path)} must be relative, '/'-separated, without '.', '..' or empty segments`,
      )
    }
    if (seen.has(file.path)) throw invalid(`file ${file.path} is listed twice`)
    seen.add(file.path)
    if (!Number.isSafeInteger(file.size) || file.size < 0) throw invalid(`file ${file.path}: size must be an integer`)
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) {
      throw invalid(`file ${file.path}: sha256 must be 64 lowercase hex digits`)
    }
  }
  if (typeof m.entry !== 'string' || !seen.has(m.entry))
    throw invalid(`entry ${JSON.stringify(m.entry)} is not in files`)
  const rollout = m.rollout
  if (rollout !== undefined) {
    if (typeof rollout.percent !== 'number' || rollout.percent < 0 || rollout.percent > 100) {
      throw invalid('rollout.percent must be a number 0-100')
    }
    if (!Array.isArray(rollout.groups) || !rollout.groups.every((g) => typeof g === 'string')) {
      throw invalid('rollout.groups must be an array of strings')
    }
  }
}

/**
 * The manifest verifies with a trusted key: E_SIGNING_KEY_UNKNOWN when its
 * key id is not trusted, E_SIGNATURE_INVALID when the signature does not
 * cover these exact bytes. Reuses models/src/manifest-signing.ts.
 */
export function checkManifestSignature(manifest: SignedModelManifest, keys: SigningKeys): void {
  const keyId = (manifest.signature as { keyId?: unknown } | undefined)?.keyId
  if (typeof keyId !== 'string' || !keys.has(keyId)) {
    throw new BridgeError(
      ErrorCodes.SIGNING_KEY_UNKNOWN,
      `the manifest is signed with key id ${JSON.stringify(keyId)}, which is not trusted (trusted: ${[...keys.keys()].join(', ') || 'none'})`,
    )
  }
  if (!verifyManifest(manifest, keys)) {
    throw new BridgeError(
      ErrorCodes.SIGNATURE_INVALID,
      `the signature of ${manifest.name} v${manifest.version} does not verify with key "${keyId}": the manifest was changed after signing, or signed with another key`,
    )
  }
}

/** Shape and signature; throws the BridgeError a publisher or a bridge reports. */
export function checkManifest(value: unknown, keys: SigningKeys): SignedModelManifest {
  checkManifestShape(value)
  checkManifestSignature(value, keys)
  return value
}
