import type { LinkClock } from '../../src/core/link/clock.ts'

/** A link clock whose timers run only when the test moves time on (`advance`), in time order. */
export function manualClock() {
  let now = 0
  let next = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const clock: LinkClock = {
    now: () => now,
    monotonic: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++next, { at: now + ms, fn })
      return next
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
    random: () => 0.5,
  }
  /** Runs every timer due within `ms`, letting promises settle after each. */
  async function advance(ms: number): Promise<void> {
    const end = now + ms
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      timers.delete(due[0])
      now = due[1].at
      due[1].fn()
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    now = end
  }
  return { clock, advance, pending: () => timers.size }
}
