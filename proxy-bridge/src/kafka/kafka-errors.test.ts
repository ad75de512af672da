import { MultipleErrors, ProtocolError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { hasKafkaError, kafkaErrorSummary } from './kafka-errors.ts'

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

  it('summarises a nested client error as its message and the distinct Kafka error ids in it', () => {
    const error = new MultipleErrors('Producing messages failed.', [
      new MultipleErrors('retries', [new ProtocolError('MESSAGE_TOO_LARGE'), new ProtocolError('MESSAGE_TOO_LARGE')]),
      new ProtocolError('NOT_LEADER_OR_FOLLOWER'),
    ])
    expect(kafkaErrorSummary(error)).toEqual({
      message: 'Producing messages failed.',
      kafkaErrors: ['MESSAGE_TOO_LARGE', 'NOT_LEADER_OR_FOLLOWER'],
    })
    expect(kafkaErrorSummary(new Error('socket hang up'))).toEqual({ message: 'socket hang up', kafkaErrors: [] })
  })
})
