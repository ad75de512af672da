import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

export const KAFKA_VERSION = '4.1.2'

/** Repository root: kafka/src/ is two levels below it. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** Git-ignored cache that holds the broker's jars and the running instances. */
export const cacheDir = process.env.KAFKA_EDGE_CACHE ?? join(repoRoot, '.cache', 'kafka')

export const libsDir = join(cacheDir, KAFKA_VERSION, 'libs')
export const pomFile = fileURLToPath(new URL('../pom.xml', import.meta.url))

/** Each named instance keeps config, data, logs and its state file in one directory. */
export function instanceDir(name: string): string {
  return join(cacheDir, 'instances', name)
}
