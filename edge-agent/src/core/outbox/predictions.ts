// What agent.predict served, kept in the outbox: input, outputs, model and
// latency, so a device has a complete record of its predictions while offline.
import type { Outbox } from './outbox.ts'

export interface PredictionLike {
  input: unknown
  result: { outputs: unknown; model: { name: string; version: number }; latencyMs: number }
}

/** Anything that emits `prediction` events as core/agent.ts's Agent does. */
export interface PredictionSource {
  on(event: 'prediction', listener: (p: PredictionLike) => void): () => void
}

export interface RecordPredictionsOptions {
  /** Topic for prediction records (default: the bridge's records topic). */
  topic?: string
  /** Only these models' predictions are kept (default: every model). */
  models?: string[] | ((name: string) => boolean)
  /** Called when an append fails (E_OUTBOX_FULL under "reject"); predictions never wait on the outbox. */
  onError?: (error: unknown) => void
}

/**
 * JSON for typed arrays (as arrays) and bigints (as numbers), which
 * JSON.stringify cannot take as they are. Copies only what holds one: the
 * agent's own predictions are plain JSON already and go through as they are.
 */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (typeof value !== 'object' || value === null) return value
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v))
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item = plain(value[i])
      if (item === value[i]) continue
      out ??= [...value]
      out[i] = item
    }
    return out ?? value
  }
  // Other objects (a Date, a class instance) become their own enumerable fields, as they always did.
  const proto = Object.getPrototypeOf(value)
  let out: Record<string, unknown> | undefined = proto === Object.prototype || proto === null ? undefined : {}
  const entries = Object.entries(value)
  for (const [key, field] of entries) {
    const item = plain(field)
    if (out === undefined && item === field) continue
    out ??= Object.fromEntries(entries)
    out[key] = item
  }
  return out ?? value
}

/** Appends one prediction; resolves with its seq once durable. */
export function appendPrediction(outbox: Outbox, prediction: PredictionLike, topic?: string): Promise<number> {
  const { model, outputs, latencyMs } = prediction.result
  return outbox.append({
    ...(topic !== undefined ? { topic } : {}),
    value: { type: 'prediction', model, input: plain(prediction.input), outputs: plain(outputs), latencyMs },
    headers: { 'kafka-edge-type': 'prediction', 'kafka-edge-model': `${model.name}@${model.version}` },
  })
}

/** Appends every prediction `agent` serves to `outbox`; returns the unsubscribe function. */
export function recordPredictions(
  agent: PredictionSource,
  outbox: Outbox,
  options: RecordPredictionsOptions = {},
): () => void {
  const { models } = options
  const wanted = (name: string) =>
    models === undefined ? true : typeof models === 'function' ? models(name) : models.includes(name)
  return agent.on('prediction', (p) => {
    if (!wanted(p.result.model.name)) return
    appendPrediction(outbox, p, options.topic).catch((error: unknown) => options.onError?.(error))
  })
}
