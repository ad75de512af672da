export type KafkaLauncherErrorCode =
  | 'E_JAVA_MISSING'
  | 'E_MAVEN_MISSING'
  | 'E_JARS_UNRESOLVED'
  | 'E_BROKER_EXITED'
  | 'E_BROKER_NOT_READY'

const useExisting =
  'To use an existing cluster instead, set KAFKA_BROKERS=host:port (comma-separated for several brokers).'

export class KafkaLauncherError extends Error {
  readonly code: KafkaLauncherErrorCode
  constructor(code: KafkaLauncherErrorCode, message: string) {
    super(`${code}: ${message}`)
    this.code = code
  }
}

export const launcherErrors = {
  javaMissing: () =>
    new KafkaLauncherError(
      'E_JAVA_MISSING',
      `Java 17 or newer was not found on PATH (needed to run the Kafka broker). Install a JDK, e.g. "apt-get install openjdk-17-jre-headless". ${useExisting}`,
    ),
  mavenMissing: () =>
    new KafkaLauncherError(
      'E_MAVEN_MISSING',
      `Maven ("mvn") was not found on PATH (needed once to fetch the Kafka jars from Maven Central). Install it, e.g. "apt-get install maven". ${useExisting}`,
    ),
  jarsUnresolved: (detail: string) =>
    new KafkaLauncherError('E_JARS_UNRESOLVED', `Maven could not resolve the Kafka jars: ${detail}. ${useExisting}`),
  brokerExited: (code: number | null, logFile: string) =>
    new KafkaLauncherError(
      'E_BROKER_EXITED',
      `the Kafka broker exited during start (exit code ${code}); see ${logFile}`,
    ),
  brokerNotReady: (bootstrap: string, ms: number, logFile: string) =>
    new KafkaLauncherError(
      'E_BROKER_NOT_READY',
      `the Kafka broker at ${bootstrap} did not answer a metadata request within ${ms} ms; see ${logFile}`,
    ),
}
