import { defineConfig, type Plugin } from 'vitest/config'
import { CONSUMER_MODULE, withAbortMarkerGuard } from './proxy-bridge/scripts/abort-marker-guard.ts'
import { RECORDS_MODULE, withRecordBatchEncoder } from './proxy-bridge/scripts/record-batch-plugin.ts'

/**
 * Integration tests run the Kafka client as the production build does, with
 * the bridge's record batch encoder (proxy-bridge/scripts/record-batch-plugin.ts)
 * and abort marker fix (abort-marker-guard.ts); unit tests keep the client's
 * own encoder, to compare against.
 */
const recordBatchEncoder: Plugin = {
  name: 'kafka-client-edits',
  transform(code, id) {
    const path = id.split('?')[0] as string
    if (RECORDS_MODULE.test(path)) return withRecordBatchEncoder(code)
    if (CONSUMER_MODULE.test(path)) return withAbortMarkerGuard(code)
    return undefined
  },
}
const withEncoder = { plugins: [recordBatchEncoder] }
const clientInlined = { server: { deps: { inline: ['@platformatic/kafka'] } } }

const kafkaSetup = './test/setup/kafka.ts'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['{kafka,edge-agent,proxy-bridge,browser-demo,models}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
        },
      },
      {
        ...withEncoder,
        test: {
          ...clientInlined,
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [kafkaSetup],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: files run two at a time, each against its own topics.
          maxWorkers: 2,
        },
      },
      {
        ...withEncoder,
        test: {
          ...clientInlined,
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: [kafkaSetup],
          testTimeout: 90_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
    ],
  },
})
