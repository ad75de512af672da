import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { KAFKA_VERSION, libsDir, pomFile } from './paths.ts'
import { launcherErrors } from './errors.ts'

export function commandExists(command: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

function jarsPresent(): boolean {
  if (!existsSync(libsDir)) return false
  return readdirSync(libsDir).some((f) => f === `kafka_2.13-${KAFKA_VERSION}.jar`)
}

/**
 * Copies the broker's runtime classpath from Maven Central into the cache once.
 * Later starts find the jars there and never call Maven.
 */
export function ensureJars(log: (line: string) => void = () => {}): string {
  if (jarsPresent()) return libsDir
  if (!commandExists('mvn')) throw launcherErrors.mavenMissing()
  log(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libsDir}`)
  rmSync(libsDir, { recursive: true, force: true })
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${libsDir}`,
    ],
    { encoding: 'utf8' },
  )
  if (result.status !== 0 || !jarsPresent()) {
    const detail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ')
    throw launcherErrors.jarsUnresolved(detail || `mvn exited with ${result.status}`)
  }
  return libsDir
}
