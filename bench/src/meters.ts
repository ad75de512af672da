// What a benchmark measures of the processes it runs: CPU and peak RSS, from /proc.
import { readFileSync } from 'node:fs'
import { round } from './stats.ts'

/** CPU seconds (user + system) a process has used so far; 0 when it is gone or unknown. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/**
 * CPU seconds, over all cores, that the hypervisor gave to other machines
 * while this one had work to run (steal, /proc/stat); 0 where unknown. This
 * machine is a VM on a shared host: stolen time stalls every process at once.
 */
export function stolenSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string
    // cpu user nice system idle iowait irq softirq steal ...
    return Number(line.trim().split(/\s+/)[8] ?? 0) / 100
  } catch {
    return 0
  }
}

/** CPU use of several processes over an interval, in % of one core each; `steal` is the machine's, likewise. */
export class CpuMeter {
  readonly #pids: Record<string, number | undefined>
  #start: { at: number; cpu: Record<string, number> } | undefined

  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids
  }

  #now(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, pid] of Object.entries(this.#pids)) out[name] = cpuSeconds(pid)
    out.self = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6
    out.steal = stolenSeconds()
    return out
  }

  start(): void {
    this.#start = { at: performance.now(), cpu: this.#now() }
  }

  /** % of one core per process since start(); "self" is this benchmark process (load generator or reference). */
  stop(): Record<string, number> {
    const start = this.#start
    if (!start) throw new Error('CpuMeter.stop before start')
    const seconds = (performance.now() - start.at) / 1000
    const end = this.#now()
    const out: Record<string, number> = {}
    for (const [name, cpu] of Object.entries(end)) out[name] = round((100 * (cpu - (start.cpu[name] ?? 0))) / seconds)
    return out
  }
}

/** Peak resident set size of a process, sampled from /proc/<pid>/status. */
export class RssSampler {
  peakKb = 0
  lastKb = 0
  readonly #timer: NodeJS.Timeout
  readonly #pid: number

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid
    this.sample()
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  sample(): number {
    try {
      const status = readFileSync(`/proc/${this.#pid}/status`, 'utf8')
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
      this.lastKb = kb
      if (kb > this.peakKb) this.peakKb = kb
    } catch {
      // The process is gone.
    }
    return this.lastKb
  }

  get peakMb(): number {
    return round(this.peakKb / 1024, 1)
  }

  get lastMb(): number {
    return round(this.lastKb / 1024, 1)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}
