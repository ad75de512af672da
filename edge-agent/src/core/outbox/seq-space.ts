// Sequence bookkeeping shared by the stores. Records are stored under a local
// log sequence number (lsn) that never changes; the seq the bridge sees is
// lsn - shift. `shift` changes only in resume(), at the start of a session,
// when nothing is in flight: that is what keeps renumbering safe.

export interface SeqState {
  /** lsn of the next append. */
  nextLsn: number
  /** Every lsn <= this is gone (acked, dropped, or expired). */
  releasedLsn: number
  /** Highest lsn the bridge acked. */
  ackedLsn: number
  shift: number
  droppedOverflow: number
  droppedTtl: number
  corrupted: number
}

export const initialSeqState = (): SeqState => ({
  nextLsn: 1,
  releasedLsn: 0,
  ackedLsn: 0,
  shift: 0,
  droppedOverflow: 0,
  droppedTtl: 0,
  corrupted: 0,
})

export const toSeq = (s: SeqState, lsn: number): number => lsn - s.shift
export const toLsn = (s: SeqState, seq: number): number => seq + s.shift

/**
 * What resume(watermark) must do: the lsn to ack through, and the new shift.
 * Pure so every store does exactly the same.
 */
function planResume(s: SeqState, reported: number): { ackLsn: number; shift: number } {
  // Kafka holds at least what the bridge acked: a lower watermark is a stale
  // read (the state view of a bridge the device just moved to), and
  // renumbering from it would put new records on seqs Kafka already has.
  const watermark = s.ackedLsn > 0 ? Math.max(reported, toSeq(s, s.ackedLsn)) : reported
  const nextSeq = toSeq(s, s.nextLsn)
  if (watermark >= nextSeq) {
    // The bridge has seqs this outbox never gave out: the outbox was reset
    // (wiped disk, new install). What it holds is new: number it after the watermark.
    return { ackLsn: s.releasedLsn, shift: s.releasedLsn + 1 - (watermark + 1) }
  }
  const ackLsn = Math.max(s.releasedLsn, toLsn(s, watermark))
  // After the ack the first held lsn is ackLsn + 1; it must carry watermark + 1.
  return { ackLsn, shift: ackLsn + 1 - (watermark + 1) }
}

/**
 * Whether resume() may renumber from the watermark, so it must be exact (the
 * hello's `exact`): nothing was ever acked (a fresh or reset outbox), or
 * records left unacked (dropped, expired, corrupt) after the last ack. Otherwise a stale
 * watermark is harmless: planResume never goes below what was acked.
 */
export const needsExactWatermark = (s: SeqState): boolean => s.ackedLsn === 0 || s.releasedLsn > s.ackedLsn

/** Records the bridge's ack through `throughSeq`; returns the lsn through which records may go (never past `durableLsn`). */
export function recordAck(s: SeqState, throughSeq: number, durableLsn: number): number {
  const lsn = Math.min(toLsn(s, throughSeq), durableLsn)
  if (lsn > s.ackedLsn) s.ackedLsn = lsn
  return lsn
}

/**
 * Applies resume(watermark) to the state: acks what Kafka holds and moves the
 * shift. Returns the lsn to release through, and whether the numbering
 * changed (the store must make it durable before anything is sent).
 */
export function applyResume(
  s: SeqState,
  watermark: number,
  durableLsn: number,
): { releaseLsn: number; renumbered: boolean } {
  const plan = planResume(s, watermark)
  if (plan.ackLsn > s.releasedLsn) s.ackedLsn = Math.max(s.ackedLsn, plan.ackLsn)
  const renumbered = plan.shift !== s.shift
  s.shift = plan.shift
  return { releaseLsn: Math.min(plan.ackLsn, durableLsn), renumbered }
}
