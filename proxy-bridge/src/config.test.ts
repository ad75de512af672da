import { describe, expect, it } from 'vitest'
import { ConfigError, configFromEnv, defaultTopics, resolveConfig } from './config.ts'

describe('bridge configuration', () => {
  it('uses documented defaults', () => {
    const config = resolveConfig()
    expect(config.port).toBe(8080)
    expect(config.host).toBe('127.0.0.1')
    expect(config.topics).toEqual(defaultTopics)
    expect(config.exactlyOnce.txnIntervalMs).toBe(10)
  })

  it('lets the environment override the file', () => {
    const config = resolveConfig(
      { port: 9000, kafka: { brokers: ['file:1'] } },
      configFromEnv({ BRIDGE_PORT: '9100', KAFKA_BROKERS: 'env:1,env:2' }),
    )
    expect(config.port).toBe(9100)
    expect(config.kafka.brokers).toEqual(['env:1', 'env:2'])
    expect(config.kafka.clientId).toBe('kafka-edge-bridge')
  })

  it.each([
    [{ port: 70_000 }, 'port must be a port number'],
    [{ kafka: { brokers: [] } }, 'kafka.brokers must list'],
    [{ kafka: { brokers: ['no-port'] } }, 'is not host:port'],
    [{ topics: { records: 'bad topic!' } }, 'not a valid Kafka topic name'],
    [{ logLevel: 'loud' as 'info' }, 'logLevel must be one of'],
    [{ exactlyOnce: { txnIntervalMs: -1 } }, 'exactlyOnce.txnIntervalMs must be an integer from 0 to 60000'],
    [{ exactlyOnce: { txnIntervalMs: 120_000 } }, 'exactlyOnce.txnIntervalMs must be an integer from 0 to 60000'],
  ])('refuses %j with E_CONFIG', (input, message) => {
    expect(() => resolveConfig(input)).toThrow(ConfigError)
    expect(() => resolveConfig(input)).toThrow(message)
  })
})
