/** The Clock port: Date for wall time, performance.now() for durations. */

import type { Clock } from '../core/ports.ts'

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
}
