/**
 * Every error the agent reports: a code a program can branch on and a
 * message that says what to do. Listed once here and in docs/agent.md.
 */

export const AGENT_ERRORS = {
  // Input of a prediction
  E_INPUT_INVALID: 'Send a JSON object mapping each feature name to a number or an array of numbers.',
  E_FEATURE_MISSING: "Send every feature the model's manifest lists (GET /models shows them).",
  E_FEATURE_UNKNOWN: "Remove features the model's manifest does not list, or check their spelling.",
  E_FEATURE_TYPE: 'Send each feature as a number, or as an array of numbers for window features.',
  E_FEATURE_SHAPE: "Send as many values as the input's shape needs (see the manifest's inputs).",
  E_INPUT_NAN: 'Replace NaN, Infinity and null values by finite numbers before predicting.',
  E_NO_MODEL: 'No model is loaded: check the agent data directory, or install a model.',
  // A model and its manifest
  E_MANIFEST_MISSING: 'Point at a model directory holding a manifest.json next to its files.',
  E_MANIFEST_INVALID: 'Rebuild the manifest with the models tooling; docs/agent.md lists its fields.',
  E_SIGNATURE_INVALID: "Sign the manifest with a key whose id and public key are in the agent's publicKeys.",
  E_MODEL_EXPIRED: 'Publish a new version with a later expiresAt.',
  E_FILE_MISSING: 'Make every file the manifest lists available beside it.',
  E_SIZE_MISMATCH: 'The file differs from the manifest: publish the files that were signed.',
  E_SHA256_MISMATCH: 'The file differs from the manifest: publish the files that were signed.',
  E_DOWNGRADE: 'Publish a version higher than every version this device has seen.',
  E_VERSION_REFUSED: 'This version was rolled back on this device; publish a fixed, higher version.',
  E_MODEL_NAME: 'The agent is configured for another model name (config "model.name").',
  E_ENGINE_UNSUPPORTED: 'Use a manifest format this agent runs: "onnx" or "tfjs".',
  E_ENGINE_LOAD: 'The runtime could not load the model: check its opset and operators (docs/agent.md).',
  E_GOLDEN_MISMATCH:
    "The model does not reproduce its golden vectors here; check the build and the manifest's tolerance.",
  E_INFERENCE: 'The model failed on this input; check the input against the manifest.',
  E_OUTPUT_NONFINITE: 'The model produced NaN or Infinity for this input; check the input range.',
  E_PROBATION_FAILED:
    'The model misbehaved during its probation and was rolled back; fix it and publish a new version.',
  E_SHADOW_DISAGREEMENT: 'The candidate disagreed with the current model too often in shadow mode.',
  E_BUSY: 'Another candidate is being installed; wait for its outcome (GET /models).',
  // Requests from the bridge (docs/agent.md, "Commands and requests")
  E_REQUEST_INVALID:
    'Send {correlationId, replyTopic, expiresAt, request: {type, ...}} as the JSON value of the request record.',
  E_REQUEST_TYPE_UNKNOWN: 'Send a request type this agent has a handler for (built in: "predict").',
  E_MODEL_NOT_RUNNING: 'Ask for the model this device runs (GET /models), or leave "model" out.',
  // Transport, storage, configuration
  E_DOWNLOAD: 'Check the network and the model server; the download resumes where it stopped.',
  E_STORE: 'Check that the data directory exists, is writable and has free space.',
  E_CONFIG: 'Fix the configuration key named in the message (docs/agent.md lists every key).',
  E_USAGE: 'Run kafka-edge-agent --help for the commands and their options.',
  E_JSON: 'Send a valid JSON document.',
  E_PAYLOAD_TOO_LARGE: 'Send a smaller request body (config "http.maxBodyBytes").',
  E_NOT_FOUND: 'See docs/agent.md for the routes of the local HTTP API.',
  E_INTERNAL: 'This is a bug: please report it with the message.',
} as const

export type AgentErrorCode = keyof typeof AGENT_ERRORS

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    /** What happened, without the advice. */
    readonly detail: string,
  ) {
    super(`${detail}. ${AGENT_ERRORS[code]}`)
    this.name = 'AgentError'
  }

  toJSON(): { code: AgentErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

/** Any thrown value as an AgentError (unknown failures become E_INTERNAL unless a fallback code is given). */
export function toAgentError(error: unknown, fallback: AgentErrorCode = 'E_INTERNAL'): AgentError {
  if (error instanceof AgentError) return error
  const detail = error instanceof Error ? error.message : String(error)
  return new AgentError(fallback, detail.replace(/\.$/, ''))
}
