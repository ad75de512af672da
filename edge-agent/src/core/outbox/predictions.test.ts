import { describe, expect, it } from 'vitest'
import { Emitter } from './emitter.ts'
import { MemoryOutbox } from './memory.ts'
import { type PredictionLike, plain, recordPredictions } from './predictions.ts'

class FakeAgent extends Emitter<{ prediction: PredictionLike }> {
  predict(p: PredictionLike) {
    this.emit('prediction', p)
  }
}

const prediction = (name: string): PredictionLike => ({
  input: { x: Float32Array.of(1.5, 2) },
  result: {
    outputs: { label: BigInt64Array.of(2n), p: Float32Array.of(0.25) },
    model: { name, version: 3 },
    latencyMs: 1.2,
  },
})

describe('recordPredictions', () => {
  it('appends input and result of the chosen models, as plain JSON', async () => {
    const outbox = new MemoryOutbox()
    const agent = new FakeAgent()
    const stop = recordPredictions(agent, outbox, { models: ['wine'], topic: 'edge.predictions' })
    agent.predict(prediction('wine'))
    agent.predict(prediction('other'))
    await new Promise((r) => setTimeout(r, 0))
    const [entry, more] = await outbox.peek(1, 10, 1 << 20)
    expect(more).toBeUndefined()
    expect(entry?.topic).toBe('edge.predictions')
    expect(entry?.headers).toEqual({ 'kafka-edge-type': 'prediction', 'kafka-edge-model': 'wine@3' })
    expect(JSON.parse(new TextDecoder().decode(entry?.payload))).toEqual({
      type: 'prediction',
      model: { name: 'wine', version: 3 },
      input: { x: [1.5, 2] },
      outputs: { label: [2], p: [0.25] },
      latencyMs: 1.2,
    })
    stop()
    agent.predict(prediction('wine'))
    expect(outbox.stats().depth).toBe(1)
  })
})

describe('plain', () => {
  it('turns typed arrays and bigints into JSON wherever they sit, and passes plain JSON through uncopied', () => {
    expect(plain({ a: [1, { b: Int32Array.of(2) }], n: 3n, s: 's' })).toEqual({ a: [1, { b: [2] }], n: 3, s: 's' })
    const already = { a: [1, { b: 'x' }], c: null }
    expect(plain(already)).toBe(already)
  })
})
