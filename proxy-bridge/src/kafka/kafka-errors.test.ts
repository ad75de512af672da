import { MultipleErrors, ProtocolError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { hasKafkaError } from './kafka-errors.ts'

describe('hasKafkaError', () => {
  it('finds an error id nested as the client nests them, and nothing that only looks alike', () => {
    const fenced = new MultipleErrors('commit failed', [
      new MultipleErrors('retries', [new ProtocolError('PRODUCER_FENCED')]),
    ])
    expect(hasKafkaError(fenced, 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH')).toBe(true)
    // A leadership change, retryable: not a fence, though its name says "FENCED".
    expect(hasKafkaError(new ProtocolError('FENCED_LEADER_EPOCH'), 'PRODUCER_FENCED')).toBe(false)
    expect(hasKafkaError(new Error('producer fenced'), 'PRODUCER_FENCED')).toBe(false)
    expect(hasKafkaError(undefined, 'PRODUCER_FENCED')).toBe(false)
  })
})
