/**
 * A bearing accelerometer, simulated as models/build/vibration_data.py
 * generates its training data: shaft harmonics, a structural tone and sensor
 * noise; with a fault, impacts at the outer-race defect frequency ringing a
 * resonance. 256 samples at 5120 Hz: one 50 ms window per call.
 */

export const WINDOW = 256
export const SAMPLE_RATE_HZ = 5120
const BPFO_FACTOR = 3.5848

export class BearingSimulator {
  /** 0: healthy; up to 1: a deep outer-race spall (impact peak in g). */
  fault = 0
  #t = 0
  readonly #shaftHz = 25 + Math.random() * 20
  readonly #amps = [0.3 + Math.random() * 0.3, 0.05 + Math.random() * 0.15, 0.02 + Math.random() * 0.08]
  readonly #toneHz = 300 + Math.random() * 300
  readonly #noise = 0.02 + Math.random() * 0.02

  next(): Float32Array {
    const x = new Float32Array(WINDOW)
    const period = 1 / (this.#shaftHz * BPFO_FACTOR)
    for (let i = 0; i < WINDOW; i++) {
      const t = this.#t + i / SAMPLE_RATE_HZ
      let v = 0
      for (let k = 0; k < 3; k++) v += (this.#amps[k] as number) * Math.sin(2 * Math.PI * (k + 1) * this.#shaftHz * t)
      v += 0.03 * Math.sin(2 * Math.PI * this.#toneHz * t)
      v += gaussian() * this.#noise
      if (this.fault > 0) {
        const dt = t % period
        v += this.fault * Math.exp(-dt / 1.2e-3) * Math.sin(2 * Math.PI * 1800 * dt)
      }
      x[i] = v
    }
    this.#t += WINDOW / SAMPLE_RATE_HZ
    return x
  }
}

function gaussian(): number {
  const u = 1 - Math.random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random())
}
