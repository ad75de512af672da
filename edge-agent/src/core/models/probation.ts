/**
 * The probation window of a freshly activated model: it passes after N
 * successful predictions or T seconds, whichever comes first; an inference
 * error or a non-finite output before then rolls the model back.
 */

export interface ProbationLimits {
  predictions: number
  seconds: number
}

export class Probation {
  #successes = 0
  constructor(
    readonly limits: ProbationLimits,
    readonly startedAt: number,
  ) {}

  get successes(): number {
    return this.#successes
  }

  /** Counts a good prediction; true when the window is over. */
  recordSuccess(now: number): boolean {
    this.#successes++
    return this.isOver(now)
  }

  isOver(now: number): boolean {
    return this.#successes >= this.limits.predictions || now - this.startedAt >= this.limits.seconds * 1000
  }

  /** Milliseconds until the time limit passes it. */
  remainingMs(now: number): number {
    return Math.max(0, this.startedAt + this.limits.seconds * 1000 - now)
  }
}
