import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './stack.ts'

export const resultsDir = join(repoRoot, 'bench', 'results')

export type BenchResult = Record<string, string | number | boolean | null | Record<string, unknown>>

/** Writes bench/results/NAME.json and prints the same object as stdout's last line. */
export function writeResult(name: string, result: BenchResult): void {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
