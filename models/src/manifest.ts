/**
 * The model manifest: what `models/<name>/manifest.json` holds, what the
 * bridge publishes on `edge.models` and what the agent verifies before it
 * activates a model. Documented in models/README.md.
 *
 * No runtime imports: shared by the agent (browser and Node) and the bridge.
 */

export type ManifestFormat = 'onnx' | 'tfjs'
export type TensorDtype = 'float32' | 'int64' | 'int32'

export interface ManifestFile {
  /** Path relative to the manifest, '/'-separated. */
  path: string
  size: number
  /** Lowercase hex SHA-256 of the file bytes. */
  sha256: string
}

export interface ManifestInput {
  /** Name of the graph input (ONNX input name, TF.js input layer name). */
  name: string
  dtype: TensorDtype
  /** -1 marks a dynamic dimension; the first one is the batch. */
  shape: number[]
  /**
   * Named features, in tensor order. A named-feature input maps each
   * feature to a number or an array of numbers; the tensor's row is the
   * concatenation of the features' values in this order.
   */
  features: string[]
  /** One unit per feature ("1" = dimensionless). */
  units: string[]
  /** For window inputs: samples per window and their rate. */
  window?: { samples: number; sampleRateHz: number }
}

export interface ManifestOutput {
  name: string
  dtype: TensorDtype
  shape: number[]
  /** Class names for classifier outputs, indexed by label / column. */
  labels?: string[]
  unit?: string
  /** Suggested decision threshold for score outputs. */
  threshold?: number
}

/** Feature name -> number, or array of numbers for a window feature. */
export type NamedFeatures = Record<string, number | number[]>

/** Output name -> nested array in the output's shape, batch of one. */
export type GoldenOutputs = Record<string, unknown[]>

export interface GoldenVector {
  input: NamedFeatures
  output: GoldenOutputs
}

export interface ManifestGolden {
  /** A value passes if |actual - expected| <= tolerance * max(1, |expected|). */
  tolerance: number
  vectors: GoldenVector[]
}

export interface ManifestRollout {
  percent: number
  groups: string[]
  probation: { predictions: number; seconds: number }
  abort: { failureRatio: number; minDevices: number }
}

export interface ManifestSignature {
  alg: 'ed25519'
  keyId: string
  /** base64url (no padding) of the Ed25519 signature over canonicalJson(manifest without signature). */
  value: string
}

export interface ModelManifest {
  name: string
  version: number
  format: ManifestFormat
  /** The file a runtime loads (an .onnx file, or a TF.js model.json). */
  entry: string
  files: ManifestFile[]
  inputs: ManifestInput[]
  outputs: ManifestOutput[]
  golden: ManifestGolden
  rollout: ManifestRollout
  createdAt: string
  expiresAt: string | null
  signature?: ManifestSignature
}

export type SignedModelManifest = ModelManifest & { signature: ManifestSignature }
