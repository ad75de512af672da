/// <reference lib="dom" />
/**
 * The anomaly score over time on a <canvas>: one series and a threshold line.
 * A library (uPlot) would add ~50 KB and a stylesheet for what is 60 lines
 * here; the page stays one small bundle beside the agent.
 */

export class ScoreChart {
  readonly #canvas: HTMLCanvasElement
  readonly #points: number[] = []
  readonly #capacity: number
  threshold = 1.8

  constructor(canvas: HTMLCanvasElement, capacity = 120) {
    this.#canvas = canvas
    this.#capacity = capacity
  }

  push(score: number): void {
    this.#points.push(score)
    if (this.#points.length > this.#capacity) this.#points.shift()
    this.draw()
  }

  draw(): void {
    const canvas = this.#canvas
    const ratio = window.devicePixelRatio || 1
    const width = canvas.clientWidth
    const height = canvas.clientHeight
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio
      canvas.height = height * ratio
    }
    const ctx = canvas.getContext('2d')
    if (!ctx) return
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, width, height)
    const max = Math.max(this.threshold * 2, ...this.#points) * 1.1
    const y = (v: number) => height - 4 - (v / max) * (height - 8)
    const x = (i: number) => (i / (this.#capacity - 1)) * width
    ctx.strokeStyle = '#b3261e'
    ctx.setLineDash([6, 4])
    ctx.beginPath()
    ctx.moveTo(0, y(this.threshold))
    ctx.lineTo(width, y(this.threshold))
    ctx.stroke()
    ctx.setLineDash([])
    ctx.fillStyle = '#b3261e'
    ctx.font = '12px system-ui, sans-serif'
    ctx.fillText(`threshold ${this.threshold.toFixed(2)}`, 4, y(this.threshold) - 4)
    ctx.strokeStyle = '#1d5fbf'
    ctx.lineWidth = 2
    ctx.beginPath()
    const offset = this.#capacity - this.#points.length
    this.#points.forEach((v, i) => {
      if (i === 0) ctx.moveTo(x(offset + i), y(v))
      else ctx.lineTo(x(offset + i), y(v))
    })
    ctx.stroke()
  }
}
