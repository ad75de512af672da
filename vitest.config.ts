import { defineConfig, type Plugin } from 'vitest/config'
import { clientEditFor } from './proxy-bridge/scripts/client-edits.ts'

/**
 * Integration tests run the Kafka client as the production build does, with
 * the bridge's edits (proxy-bridge/scripts/client-edits.ts); unit tests keep
 * the client's own encoder, to compare against.
 */
const clientEdits: Plugin = {
  name: 'kafka-client-edits',
  transform(code, id) {
    return clientEditFor(id.split('?')[0] as string)?.(code)
  },
}
const withClientEdits = { plugins: [clientEdits] }
const clientInlined = { server: { deps: { inline: ['@platformatic/kafka'] } } }

const kafkaSetup = './test/setup/kafka.ts'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['{kafka,edge-agent,proxy-bridge,browser-demo,models,bench}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
        },
      },
      {
        ...withClientEdits,
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
        ...withClientEdits,
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
