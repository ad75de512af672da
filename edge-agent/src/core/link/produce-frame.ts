// Builds produce frames as binary messages (protocol §6.3) straight from
// outbox entries: a small JSON header describes the records, and the payloads
// follow as the exact bytes the outbox stored. The bridge slices the values
// out of the message instead of parsing and re-encoding each one, bytes
// values skip base64, and the frame's size (what the bridge counts against
// credits and maxFrameBytes) is known exactly before it is built.
//
// Records of one topic, the usual case, go as `columns` to a bridge that
// accepts them: a few bytes of header per record instead of a JSON object
// each, less for the link to carry and for the bridge to parse. Records with
// headers go so only to a bridge that also takes headers in columns. Other
// records, and every record to an older bridge, go as `records`.
import { encodeBinaryFrame, type RecordHeaders } from '../../protocol/v1.ts'
import { isEpochMs, type OutboxEntry } from '../outbox/record.ts'

/** UTF-8 byte length of a string without encoding it. */
export function utf8Length(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

export interface BuiltFrame {
  /** The whole binary message: uint32 BE header length, header, payloads. */
  data: Uint8Array
  fromSeq: number
  toSeq: number
  count: number
}

/** A frame's header and how many of the entries it describes; sized, not yet encoded. */
interface FramePlan {
  header: string
  count: number
}

/** What the bridge accepts, from the features its welcome lists. */
export interface FrameForms {
  /** `columns` (`produce-columns`). */
  columns: boolean
  /** `headers` in columns (`produce-columns-headers`); without it records with headers go as `records`. */
  columnHeaders?: boolean
}

/**
 * The longest prefix of `entries` that fits in one frame of at most
 * maxBytes; undefined when even the first record does not fit.
 */
export function buildProduceFrame(
  entries: OutboxEntry[],
  id: string,
  maxBytes: number,
  forms: FrameForms,
): BuiltFrame | undefined {
  const first = entries[0]
  if (!first) return undefined
  const plan = choosePlan(entries, id, maxBytes, forms)
  if (!plan) return undefined
  // The payloads are copied once, into the frame that was chosen.
  const payloads = entries.slice(0, plan.count).map((e) => e.payload)
  const data = encodeBinaryFrame(plan.header, payloads)
  return { data, fromSeq: first.seq, toSeq: first.seq + plan.count - 1, count: plan.count }
}

function choosePlan(entries: OutboxEntry[], id: string, maxBytes: number, forms: FrameForms): FramePlan | undefined {
  const uniform = forms.columns ? uniformRun(entries, forms.columnHeaders === true) : 0
  const byColumns = uniform > 0 ? columnsPlan(entries, uniform, id, maxBytes) : undefined
  // Stopped by size or holding everything: a records frame could hold no more.
  if (byColumns && (byColumns.count < uniform || uniform === entries.length)) return byColumns
  const byRecords = recordsPlan(entries, id, maxBytes)
  // A run cut short by another topic or by headers still goes as columns if
  // it holds half of what one records frame would; the rest goes next.
  // Shorter runs (topics taking turns) would split into many small frames.
  return byColumns && (!byRecords || byColumns.count * 2 >= byRecords.count) ? byColumns : byRecords
}

/** How many leading entries share the first's topic and (unless `headers`) carry no headers. */
function uniformRun(entries: OutboxEntry[], headers: boolean): number {
  const topic = entries[0]?.topic
  let n = 0
  while (n < entries.length && entries[n]?.topic === topic && (headers || entries[n]?.headers === undefined)) n++
  return n
}

function columnsPlan(entries: OutboxEntry[], limit: number, id: string, maxBytes: number): FramePlan | undefined {
  const first = entries[0] as OutboxEntry
  const topic = first.topic === undefined ? '' : `,"topic":${JSON.stringify(first.topic)}`
  const head = `{"type":"produce","id":${JSON.stringify(id)},"columns":{"seq":${first.seq}${topic},"sizes":[`
  const middle = '],"timestampDeltas":['
  // After the deltas' "]" and the headers, if any.
  const end = '}}'
  let bytes = 4 + utf8Length(head) + middle.length + 1 + end.length
  const sizes: number[] = []
  const deltas: number[] = []
  const headers = new HeadersColumn(first.headers)
  let previous = 0
  for (let i = 0; i < limit; i++) {
    const entry = entries[i] as OutboxEntry
    const size = entry.payload.length
    const timestamp = wireTimestamp(entry)
    const delta = timestamp - previous
    // Digits only, and a comma before every entry but the first of each list.
    const grow = String(size).length + String(delta).length + (i ? 2 : 0) + size
    if (bytes + grow + headers.measure(entry.headers, i) > maxBytes) break
    bytes += grow
    headers.accept(i)
    sizes.push(size)
    deltas.push(delta)
    previous = timestamp
  }
  if (sizes.length === 0) return undefined
  return {
    header: `${head}${sizes.join(',')}${middle}${deltas.join(',')}]${headers.json()}${end}`,
    count: sizes.length,
  }
}

/**
 * The `headers` of a columns frame as records join it: none while no record
 * has any, one object while every record has the first's, else one entry per
 * record. A record without headers costs nothing here before the array form.
 */
class HeadersColumn {
  readonly #first: RecordHeaders | undefined
  readonly #firstJson: string
  readonly #firstBytes: number
  /** One JSON entry per record once the records differ; undefined while they agree. */
  #entries: string[] | undefined
  /** UTF-8 bytes of #entries joined by commas. */
  #entriesBytes = 0
  /** The measured record's entry when it needs (or is already in) the array form. */
  #pending: string | undefined

  constructor(first: RecordHeaders | undefined) {
    this.#first = first
    this.#firstJson = entryJson(first)
    this.#firstBytes = utf8Length(this.#firstJson)
  }

  /** Bytes of `,"headers":…` if record `i`, with `headers`, joins records 0..i-1; accept() lets it join. */
  measure(headers: RecordHeaders | undefined, i: number): number {
    this.#pending = undefined
    if (!this.#entries && sameHeaders(headers, this.#first)) {
      return this.#first === undefined ? 0 : ',"headers":'.length + this.#firstBytes
    }
    this.#pending = entryJson(headers)
    return ',"headers":[]'.length + this.#bytesBefore(i) + (i ? 1 : 0) + utf8Length(this.#pending)
  }

  accept(i: number): void {
    const entry = this.#pending
    if (entry === undefined) return
    if (!this.#entries) {
      this.#entriesBytes = this.#bytesBefore(i)
      this.#entries = new Array<string>(i).fill(this.#firstJson)
    }
    this.#entries.push(entry)
    this.#entriesBytes += (i ? 1 : 0) + utf8Length(entry)
  }

  json(): string {
    if (this.#entries) return `,"headers":[${this.#entries.join(',')}]`
    return this.#first === undefined ? '' : `,"headers":${this.#firstJson}`
  }

  /** Array entries of records 0..i-1: while they agreed, each is the first's. */
  #bytesBefore(i: number): number {
    return this.#entries ? this.#entriesBytes : i * this.#firstBytes + Math.max(0, i - 1)
  }
}

function entryJson(headers: RecordHeaders | undefined): string {
  return headers === undefined ? 'null' : JSON.stringify(headers)
}

/**
 * Whether two records' headers reach Kafka alike: the same object, or the
 * same names in the same order with the same values. No serialising.
 */
function sameHeaders(a: RecordHeaders | undefined, b: RecordHeaders | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  const names = Object.keys(a)
  const others = Object.keys(b)
  if (names.length !== others.length) return false
  for (let k = 0; k < names.length; k++) {
    const name = names[k] as string
    if (name !== others[k] || a[name] !== b[name]) return false
  }
  return true
}

/**
 * The timestamp Kafka gets: whole ms. An outbox written by an older agent may
 * hold one the bridge would refuse (a fraction, NaN, negative), which would
 * block every record behind it: such a record gets its append time.
 */
function wireTimestamp(entry: OutboxEntry): number {
  return Math.floor(isEpochMs(entry.timestamp) ? entry.timestamp : entry.appendedAt)
}

/** The record's entry in a `records` header; its value is the payload's length. */
function recordHeader(entry: OutboxEntry): string {
  const topic = entry.topic === undefined ? '' : `,"topic":${JSON.stringify(entry.topic)}`
  const headers = entry.headers === undefined ? '' : `,"headers":${JSON.stringify(entry.headers)}`
  return `{"seq":${entry.seq}${topic},"value":${entry.payload.length},"encoding":"binary"${headers},"timestamp":${wireTimestamp(entry)}}`
}

function recordsPlan(entries: OutboxEntry[], id: string, maxBytes: number): FramePlan | undefined {
  const head = `{"type":"produce","id":${JSON.stringify(id)},"records":[`
  let headerBytes = utf8Length(head) + 2
  let payloadBytes = 0
  const parts: string[] = []
  for (const entry of entries) {
    const part = recordHeader(entry)
    const size = utf8Length(part) + (parts.length ? 1 : 0)
    if (4 + headerBytes + size + payloadBytes + entry.payload.length > maxBytes) break
    parts.push(part)
    headerBytes += size
    payloadBytes += entry.payload.length
  }
  if (parts.length === 0) return undefined
  return { header: `${head}${parts.join(',')}]}`, count: parts.length }
}
