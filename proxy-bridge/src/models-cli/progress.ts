import { formatBytes } from './cli-support.ts'

/**
 * A progress bar on stderr (stdout stays for results). On a terminal it
 * redraws one line; otherwise it prints a line at each quarter, so CI logs
 * stay short. No dependency: one bar of bytes is all publish needs.
 */
export class ProgressBar {
  readonly #total: number
  readonly #label: string
  readonly #out: NodeJS.WriteStream
  readonly #tty: boolean
  readonly #started = performance.now()
  #done = 0
  #lastQuarter = -1
  #lastDraw = 0

  constructor(label: string, total: number, out: NodeJS.WriteStream = process.stderr) {
    this.#label = label
    this.#total = Math.max(total, 1)
    this.#out = out
    this.#tty = out.isTTY === true
  }

  tick(bytes: number): void {
    this.#done = Math.min(this.#total, this.#done + bytes)
    this.#draw(false)
  }

  finish(): void {
    this.#done = this.#total
    this.#draw(true)
    if (this.#tty) this.#out.write('\n')
  }

  #draw(final: boolean): void {
    const ratio = this.#done / this.#total
    const seconds = (performance.now() - this.#started) / 1000
    const rate = seconds > 0 ? `${formatBytes(this.#done / seconds)}/s` : ''
    const text = `${this.#label} ${Math.floor(ratio * 100)
      .toString()
      .padStart(3)} % ${formatBytes(this.#done)} / ${formatBytes(this.#total)} ${rate}`
    if (this.#tty) {
      const now = performance.now()
      if (!final && now - this.#lastDraw < 50) return
      this.#lastDraw = now
      const width = 24
      const filled = Math.round(ratio * width)
      this.#out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`)
      return
    }
    const quarter = Math.floor(ratio * 4)
    if (quarter > this.#lastQuarter) {
      this.#lastQuarter = quarter
      this.#out.write(`${text}\n`)
    }
  }
}
