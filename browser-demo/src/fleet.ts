/// <reference lib="dom" />
/**
 * The fleet panel: recent records of every device, streamed from Kafka by
 * the bridge's GET /v1/topics/{topic}/events. EventSource resends the last
 * event id itself after a network blip; when the bridge answered an error
 * (it was down) EventSource gives up, so this reopens with ?last_event_id=
 * and nothing is missed or shown twice.
 */

export interface FleetRecord {
  partition: number
  offset: string
  timestamp: number
  key: string | null
  headers: Record<string, string>
  value: unknown
}

export interface FleetStreamOptions {
  bridgeUrl: string
  token: string
  topic: string
  onRecord(record: FleetRecord): void
  onState(state: 'live' | 'connecting'): void
}

export function streamFleet(options: FleetStreamOptions): () => void {
  let lastEventId = sessionStorage.getItem(`fleet-last-event-id:${options.topic}`) ?? ''
  let source: EventSource | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  const open = () => {
    const url = new URL(`/v1/topics/${encodeURIComponent(options.topic)}/events`, options.bridgeUrl)
    url.searchParams.set('access_token', options.token)
    if (lastEventId) url.searchParams.set('last_event_id', lastEventId)
    options.onState('connecting')
    const es = new EventSource(url)
    source = es
    es.onopen = () => options.onState('live')
    es.addEventListener('record', (event) => {
      const message = event as MessageEvent<string>
      lastEventId = message.lastEventId
      sessionStorage.setItem(`fleet-last-event-id:${options.topic}`, lastEventId)
      options.onRecord(JSON.parse(message.data) as FleetRecord)
    })
    es.onerror = () => {
      options.onState('connecting')
      if (es.readyState !== EventSource.CLOSED || stopped) return
      retry = setTimeout(open, 2000)
    }
  }
  open()
  return () => {
    stopped = true
    clearTimeout(retry)
    source?.close()
  }
}

/** One line for a record: what a person scanning the panel wants to see. */
export function describeRecord(record: FleetRecord): string {
  const value = record.value as { type?: string; outputs?: Record<string, unknown> } | null
  const model = record.headers['kafka-edge-model'] ?? ''
  if (value?.type === 'prediction' && value.outputs) {
    const first = (v: unknown) => (Array.isArray(v) ? v[0] : v)
    const score = first(value.outputs.anomaly_score)
    if (score !== undefined) return `${model} score ${Number(score).toFixed(2)}`
    const label = first(value.outputs.label)
    if (label !== undefined) return `${model} ${String(label)}`
    return `${model} prediction`
  }
  const telemetry = record.value as { type?: string; rms?: number; crest?: number } | null
  if (telemetry?.type === 'telemetry') return `telemetry rms ${telemetry.rms} g, crest ${telemetry.crest}`
  const text = JSON.stringify(record.value) ?? 'null'
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
