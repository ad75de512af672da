// Figures from samples and from a bridge's Prometheus text.

export function round(n: number, digits = 0): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

/** Value of an unlabelled Prometheus sample, or of the sum of its labelled series. */
export function metricValue(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop())
  }
  return sum
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

/** Cumulative buckets of a Prometheus histogram: upper bound (s) → count. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue
    const le = /le="([^"]+)"/.exec(line)?.[1]
    if (le === undefined) continue
    out.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(line.split(' ').pop()))
  }
  return out
}

/** Upper bucket bound (ms) under which fraction p of the observations between two snapshots fall. */
export function histogramQuantileMs(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b)
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0)
  if (total <= 0) return Number.NaN
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= p * total) return le * 1000
  }
  return Number.POSITIVE_INFINITY
}
