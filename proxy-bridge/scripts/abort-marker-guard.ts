/**
 * A fix to @platformatic/kafka 1.35's consumer, one of the client edits
 * (client-edits.ts).
 *
 * A read_committed fetch runs the client's own filter of aborted
 * transactions, which looks up each abort marker's producer in the
 * response's list of aborted transactions and writes into what it finds. A
 * marker whose transaction is not in that list (a fenced transaction, as a
 * device moving between bridges makes them) made it write into `undefined`:
 * a TypeError thrown from a socket callback, which ends the process. Such a
 * marker aborted nothing in the response, so skipping it is right; the
 * bridge filters aborted records again itself (kafka/log-reader.ts).
 */

export const CONSUMER_MODULE = /@platformatic[/\\]kafka[/\\]dist[/\\]clients[/\\]consumer[/\\]consumer\.js$/
const LOOKUP = 'abortedRanges.get(batch.producerId)[1] = batch.firstOffset;'

/** The client's consumer.js with the abort marker lookup guarded. */
export function withAbortMarkerGuard(source: string): string {
  if (source.split(LOOKUP).length !== 2) {
    throw new Error(
      `E_BUILD_ABORT_MARKERS: @platformatic/kafka's clients/consumer/consumer.js no longer has "${LOOKUP}" exactly once; ` +
        'check whether the new client still needs proxy-bridge/scripts/abort-marker-guard.ts',
    )
  }
  return source.replace(
    LOOKUP,
    '{ const abortedRange = abortedRanges.get(batch.producerId); if (abortedRange) abortedRange[1] = batch.firstOffset; }',
  )
}
