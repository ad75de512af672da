import type { TestProject } from 'vitest/node'
import { externalBrokers, removeInstance, runningBroker, startBroker } from '@kafka-edge/dev-kafka'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[]
  }
}

/**
 * Starts one real broker for the whole run, or uses KAFKA_BROKERS, or reuses
 * the developer's `npm run kafka -- start` broker. Only a broker this run
 * started is stopped at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = externalBrokers()
  if (external) {
    project.provide('kafkaBrokers', external)
    return async () => {}
  }
  const dev = await runningBroker('default')
  if (dev) {
    project.provide('kafkaBrokers', [dev.bootstrap])
    return async () => {}
  }
  const name = `test-${process.pid}`
  const broker = await startBroker({ name, port: 0, fresh: true })
  project.provide('kafkaBrokers', [broker.bootstrap])
  // Each vitest project runs this setup; the first starts the broker, the others reuse it.
  if (!broker.started) return async () => {}
  return async () => {
    await broker.stop()
    removeInstance(name)
  }
}
