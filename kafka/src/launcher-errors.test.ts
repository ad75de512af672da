import { afterEach, describe, expect, it } from 'vitest'
import { KafkaLauncherError } from './errors.ts'
import { externalBrokers, startBroker } from './index.ts'

describe('the Kafka launcher without Java', () => {
  const path = process.env.PATH
  afterEach(() => {
    process.env.PATH = path
  })

  it('stops with E_JAVA_MISSING and says how to use an existing cluster', async () => {
    process.env.PATH = '/nonexistent'
    const error = await startBroker({ name: 'no-java-test' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KafkaLauncherError)
    expect((error as KafkaLauncherError).code).toBe('E_JAVA_MISSING')
    expect((error as Error).message).toContain('KAFKA_BROKERS=host:port')
  })
})

describe('KAFKA_BROKERS', () => {
  it('is split on commas and trimmed, and unset means "start our own"', () => {
    expect(externalBrokers({ KAFKA_BROKERS: ' a:9092, b:9093 ,' })).toEqual(['a:9092', 'b:9093'])
    expect(externalBrokers({})).toBeUndefined()
    expect(externalBrokers({ KAFKA_BROKERS: '  ' })).toBeUndefined()
  })
})
