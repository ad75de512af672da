/**
 * An edit to @platformatic/kafka (client-edits.ts): its produce requests
 * encode their record batches with src/kafka/record-batch.ts, and fall back
 * to the client's own encoder for what that does not take.
 *
 * The client exports no hook for this, so the edit replaces one declaration
 * in its protocol/records.js as the module loads. If a new client version
 * changes that file, the build stops with E_BUILD_RECORD_BATCH instead of
 * shipping a bridge without the encoder, or with the wrong one: re-check
 * record-batch.ts against the new client (record-batch.test.ts compares bytes).
 */

import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ENCODER = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'kafka', 'record-batch.ts')
export const RECORDS_MODULE = /@platformatic[/\\]kafka[/\\]dist[/\\]protocol[/\\]records\.js$/
const DECLARATION = 'export function createRecordsBatch(messages, options = {}) {'
/** Names records.js imports that the replacement uses. */
const IMPORTS = ['import { DynamicBuffer }', 'import { crc32c }', 'import { Writer }']

/** The client's records.js with `createRecordsBatch` trying `encodeRecordBatch` first. */
export function withRecordBatchEncoder(source: string, encoderPath = ENCODER): string {
  const missing = [DECLARATION, ...IMPORTS].filter((text) => source.split(text).length !== 2)
  if (missing.length > 0) {
    throw new Error(
      `E_BUILD_RECORD_BATCH: @platformatic/kafka's protocol/records.js no longer has ${missing.map((m) => `"${m}"`).join(', ')} exactly once; ` +
        'check proxy-bridge/src/kafka/record-batch.ts against the new client before building',
    )
  }
  return `${source.replace(DECLARATION, 'function clientCreateRecordsBatch(messages, options = {}) {')}
import { encodeRecordBatch } from ${JSON.stringify(encoderPath)};
export function createRecordsBatch(messages, options = {}) {
  const batch = encodeRecordBatch(messages, options, crc32c);
  return batch === undefined ? clientCreateRecordsBatch(messages, options) : new Writer(new DynamicBuffer(batch));
}
`
}
