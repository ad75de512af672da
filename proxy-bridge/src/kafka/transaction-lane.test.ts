import { ProtocolError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { transactionRetries, transactionRetryDelay } from './transaction-lane.ts'

const delays = (error: Error, retries: number) =>
  Array.from({ length: retries }, (_, i) =>
    transactionRetryDelay(undefined, 'addPartitionsToTxn', i + 1, retries, error),
  )

describe('transactionRetryDelay', () => {
  it('retries CONCURRENT_TRANSACTIONS quickly at first and keeps trying for over a second', () => {
    const concurrent = delays(new ProtocolError('CONCURRENT_TRANSACTIONS'), transactionRetries)
    expect(concurrent.slice(0, 5)).toEqual([3, 3, 3, 3, 3])
    expect(concurrent.every((d) => d <= 200)).toBe(true)
    // A broker slow to write the previous transaction's markers (seen at ~40 ms under load) must not fail the next one.
    expect(concurrent.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000)
  })

  it('backs off anything else from 100 ms to at most a second', () => {
    const other = delays(new ProtocolError('NOT_COORDINATOR'), transactionRetries)
    expect(other.slice(0, 4)).toEqual([100, 200, 400, 800])
    expect(Math.max(...other)).toBe(1000)
  })
})
