#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, with the Kafka
// client's record batch encoder edited in as in the production build.
import { register } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

registerTsx()
register('../scripts/record-batch-hooks.ts', import.meta.url)
await import('../src/cli.ts')
