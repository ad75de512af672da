/**
 * LogReader against the real broker: read_committed around aborted
 * transactions, including one that added a partition and wrote nothing there
 * (a fenced transaction does that). The Kafka client's own filter used to
 * throw from a socket callback on its abort marker, which ends the process
 * (proxy-bridge/scripts/abort-marker-guard.ts).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogReader } from '../../proxy-bridge/src/kafka/log-reader.ts'
import { committedValues, writeEmptyAbortLog } from '../support/abort-marker-log.ts'
import { brokers, createTopics, deleteTopics, uniqueTopic } from '../support/kafka.ts'

const topic = uniqueTopic('it-reader')

describe('LogReader', () => {
  beforeAll(async () => {
    // Small enough that a 5,000-byte record is refused after the partition joined the transaction.
    await createTopics([{ name: topic, configs: { 'max.message.bytes': '2000' } }])
  })

  afterAll(async () => {
    await deleteTopics([topic])
  })

  it('reads only committed records past an abort marker whose transaction wrote nothing there', async () => {
    await writeEmptyAbortLog(topic, 0)
    const reader = new LogReader(brokers(), 'it-reader')
    try {
      const values: string[] = []
      const from = new Map([[0, 0n]])
      for (let i = 0; i < 10 && values.length < committedValues.length; i++) {
        const result = (await reader.fetch(topic, from, { maxWaitMs: 100 })).get(0)
        for (const r of result?.records ?? []) values.push(r.value?.toString() ?? '')
        from.set(0, result?.nextOffset ?? 0n)
      }
      expect(values).toEqual(committedValues)
    } finally {
      await reader.close()
    }
  })
})
