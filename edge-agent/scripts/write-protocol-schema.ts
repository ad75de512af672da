// Writes docs/protocol-v1.schema.json from frameSchemasV1 (edge-agent/src/protocol/schema-v1.ts).
//
//   npx tsx edge-agent/scripts/write-protocol-schema.ts           write the file
//   npx tsx edge-agent/scripts/write-protocol-schema.ts --check   exit 1 if the file is out of date
//
// The JSON is pretty-printed with 2 spaces and a trailing newline, then passed
// through the repository's Biome formatter, so `biome check` accepts the file
// as written and schema-v1.test.ts can compare it byte for byte.

import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { frameSchemasV1 } from '../src/protocol/schema-v1.ts'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** Where the generated schema is committed. */
export const protocolSchemaPath = fileURLToPath(new URL('../../docs/protocol-v1.schema.json', import.meta.url))

/** The exact contents docs/protocol-v1.schema.json must have. */
export function renderProtocolSchema(): string {
  const json = `${JSON.stringify(frameSchemasV1, null, 2)}\n`
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome')
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${protocolSchemaPath}`], {
    cwd: repoRoot,
    input: json,
    encoding: 'utf8',
  })
}

function main(argv: string[]): number {
  const expected = renderProtocolSchema()
  if (argv.includes('--check')) {
    let actual = ''
    try {
      actual = readFileSync(protocolSchemaPath, 'utf8')
    } catch {}
    if (actual === expected) return 0
    process.stderr.write(
      `${protocolSchemaPath} is out of date: run npx tsx edge-agent/scripts/write-protocol-schema.ts\n`,
    )
    return 1
  }
  writeFileSync(protocolSchemaPath, expected)
  process.stdout.write(`wrote ${protocolSchemaPath}\n`)
  return 0
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = main(process.argv.slice(2))
