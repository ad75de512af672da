import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { ManifestFile } from '@kafka-edge/models/manifest'
import { BridgeError } from '../errors.ts'
import { isSafeModelPath } from '../models/manifest-check.ts'

/** manifest.json of a model directory, parsed but not yet checked. */
export function readManifest(dir: string): unknown {
  const path = join(dir, 'manifest.json')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new BridgeError(ErrorCodes.MODEL_FILE_MISSING, `cannot read ${path}: ${(error as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new BridgeError(ErrorCodes.MODEL_MANIFEST_INVALID, `${path} is not JSON: ${(error as Error).message}`)
  }
}

/** Size and sha256 of a file the manifest lists; E_MODEL_FILE_MISSING when it is not there. */
export async function measure(dir: string, path: string): Promise<{ size: number; sha256: string }> {
  if (!isSafeModelPath(path)) throw new BridgeError(ErrorCodes.PATH_INVALID, `"${path}" is not a model file path`)
  const full = join(dir, path)
  let size: number
  try {
    size = statSync(full).size
  } catch {
    throw new BridgeError(ErrorCodes.MODEL_FILE_MISSING, `the manifest lists ${path}, but ${full} does not exist`)
  }
  const hash = createHash('sha256')
  await pipeline(createReadStream(full), hash)
  return { size, sha256: hash.digest('hex') }
}

/** Every listed file is there with the size and sha256 the manifest states. */
export async function checkFiles(dir: string, files: ManifestFile[]): Promise<void> {
  for (const file of files) {
    const actual = await measure(dir, file.path)
    if (actual.size !== file.size || actual.sha256 !== file.sha256) {
      throw new BridgeError(
        ErrorCodes.MODEL_FILE_UNVERIFIED,
        `${file.path} is ${actual.size} bytes with sha256 ${actual.sha256}; the manifest says ${file.size} bytes, ${file.sha256} (run kafka-edge-models sign)`,
      )
    }
  }
}
