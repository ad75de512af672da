// Timers and randomness on top of core/ports.ts's Clock, so tests can drive
// them and the core imports no runtime.
import type { Clock } from '../ports.ts'

export interface LinkClock extends Clock {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** Uniform in [0, 1). */
  random(): number
}

export const systemClock: LinkClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
  random: () => Math.random(),
}
