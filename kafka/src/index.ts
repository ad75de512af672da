export { KAFKA_VERSION } from './paths.ts'
export { KafkaLauncherError, type KafkaLauncherErrorCode } from './errors.ts'
export { startBroker, stopBroker, removeInstance, runningBroker, readState, logFileOf, pidAlive } from './broker.ts'
export type { BrokerState, RunningBroker, StartOptions } from './broker.ts'
export { brokerAnswers, waitForBroker } from './readiness.ts'
export { freePort } from './ports.ts'

/** Brokers from KAFKA_BROKERS=host:port[,host:port], or undefined when the project should start its own. */
export function externalBrokers(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const raw = env.KAFKA_BROKERS?.trim()
  if (!raw) return undefined
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
}
