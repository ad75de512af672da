#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, with the Kafka
// client edited as in the production build (scripts/client-edits.ts).
import { register } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

registerTsx()
register('../scripts/client-edit-hooks.ts', import.meta.url)
await import('../src/cli.ts')
